"""Campaigns: the dry run, the set-wise run, its cost in queries, and a run killed half-way."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from unittest import mock

import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cxcore.customers.models import Segment
from cxcore.customers.tests.factories import add_contact, declare, make_customer
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.membrane import queries, services
from cxcore.membrane.models import Campaign, Decision, Delivery, ReasonSet
from cxcore.membrane.tests.factories import SYSTEM_TEST, grant, make_campaign, make_message
from cxcore.test import BaseTestCase

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # noon in Paris, six in the morning in New York


class Killed(Exception):
    """The worker died."""


@time_machine.travel(NOW, tick=False)
class CampaignTestCase(BaseTestCase):
    def setUp(self):
        self.alice = make_customer("Alice", "A", email="alice@example.org", language="en")
        self.bob = make_customer("Bob", "B", email="bob@example.org")  # never consented
        self.carol = make_customer("Carol", "C", phone="+33611111111")
        self.dave = make_customer("Dave", "D", email="dave@example.org")
        self.erin = make_customer(
            "Erin", "E", email="erin@example.org", time_zone="America/New_York"
        )
        self.frank = make_customer("Frank", "F", email="frank@example.org")
        self.gina = make_customer("Gina", "G", email="gina@example.org")
        for person in (self.alice, self.dave, self.erin, self.frank, self.gina):
            grant(person, "marketing", "email")
        grant(self.carol, "marketing", "sms")
        services.do_not_contact_set(
            actor=SYSTEM_TEST, customer=self.dave, channel="email", reason="unsubscribed"
        )
        services.preferences_save(actor=SYSTEM_TEST, customer=self.frank, data={"max_per_week": 0})
        make_interaction(
            self.gina, make_touchpoint(), NOW - timedelta(days=2), kind="complaint", outcome="open"
        )
        self.message = make_message()
        self.campaign = make_campaign(self.message, scheduled_at=NOW)

    def outcomes(self) -> dict[int, tuple]:
        return {
            row[0]: row[1:]
            for row in Decision.objects.values_list("customer_id", "outcome", "channel", "send_at")
        }


class DryRunTest(CampaignTestCase):
    def test_the_dry_run_counts_by_outcome_channel_and_reason(self):
        result = services.campaign_dry_run(campaign=self.campaign)
        self.assertEqual(
            result,
            {
                "total": 7,
                "outcomes": {"deliver": 2, "defer": 1, "block": 4},
                "channels": {"deliver:email": 1, "deliver:sms": 1, "defer:email": 1},
                "reasons": {
                    "block:no_usable_channel": 2,
                    "defer:quiet_hours": 1,
                    "block:cap_zero": 1,
                    "block:open_complaint": 1,
                },
            },
        )
        self.campaign.refresh_from_db()
        self.assertEqual(self.campaign.dry_run, result)
        self.assertEqual(self.campaign.dry_run_at, NOW)

    def test_the_dry_run_records_no_decision(self):
        services.campaign_dry_run(campaign=self.campaign)
        self.assertFalse(Decision.objects.exists())
        self.assertFalse(Delivery.objects.exists())
        self.assertFalse(ReasonSet.objects.exists())
        self.campaign.refresh_from_db()
        self.assertEqual(self.campaign.status, Campaign.Status.DRAFT)

    def test_the_run_gives_what_the_dry_run_announced(self):
        dry = services.campaign_dry_run(campaign=self.campaign)
        results = services.campaign_run(campaign_id=self.campaign.pk, now=NOW)
        self.assertEqual(results["outcomes"], dry["outcomes"])
        self.assertEqual(results["deliveries"], {"pending": 3})
        self.assertEqual(Decision.objects.filter(campaign=self.campaign).count(), dry["total"])
        self.campaign.refresh_from_db()
        self.assertEqual(self.campaign.status, Campaign.Status.SENDING)
        self.assertEqual(self.campaign.started_at, NOW)
        decided = self.outcomes()
        self.assertEqual(decided[self.alice.pk], ("deliver", "email", NOW))
        self.assertEqual(decided[self.carol.pk], ("deliver", "sms", NOW))
        self.assertEqual(
            decided[self.erin.pk], ("defer", "email", datetime(2026, 6, 10, 12, 0, tzinfo=UTC))
        )
        self.assertEqual(decided[self.bob.pk], ("block", "", None))
        deliveries = Delivery.objects.order_by("customer_id")
        self.assertEqual(
            [(d.customer_id, d.channel, d.status, d.due_at, d.attempts) for d in deliveries],
            [
                (self.alice.pk, "email", "pending", NOW, 0),
                (self.carol.pk, "sms", "pending", NOW, 0),
                (self.erin.pk, "email", "pending", datetime(2026, 6, 10, 12, 0, tzinfo=UTC), 0),
            ],
        )

    def test_set_wise_decisions_equal_deciding_each_customer_alone(self):
        _moment, pairs = services.campaign_decide(self.campaign, now=NOW)
        set_wise = dict(pairs)
        self.assertEqual(len(set_wise), 7)
        for customer in (
            self.alice,
            self.bob,
            self.carol,
            self.dave,
            self.erin,
            self.frank,
            self.gina,
        ):
            alone, _row = services.decision_make(customer=customer, message=self.message, now=NOW)
            self.assertEqual(alone, set_wise[customer.pk], customer)

        services.campaign_run(campaign_id=self.campaign.pk, now=NOW)
        recorded = self.outcomes()
        for customer_id, decision in set_wise.items():
            self.assertEqual(
                recorded[customer_id], (decision.outcome, decision.channel, decision.send_at)
            )
        reasons = {
            d.customer_id: d.reason_set.reasons
            for d in Decision.objects.select_related("reason_set")
        }
        self.assertEqual(reasons[self.dave.pk][0]["code"], "do_not_contact")
        self.assertEqual(reasons[self.dave.pk][-1]["code"], "no_usable_channel")
        # Equal reason lists are stored once.
        distinct = {json.dumps(services.reasons_json(d)) for d in set_wise.values()}
        self.assertEqual(ReasonSet.objects.count(), len(distinct))

    def test_histories_read_set_wise_decide_as_whole_histories_do(self):
        def sent(customer, message, days_ago):
            _decision, row = services.decision_make(
                customer=customer, message=message, record=True, now=NOW - timedelta(days=days_ago)
            )
            Delivery.objects.filter(decision=row).update(
                status=Delivery.Status.SENT, claimed_at=NOW - timedelta(days=days_ago)
            )

        other = make_message(channels=("email",), name="Another offer")
        third = make_message(channels=("email",), name="A third offer")
        sent(self.alice, other, 2)  # the marketing cap (2 a week) is full
        sent(self.alice, third, 3)
        sent(self.erin, other, 4)  # one this week: room left, the history cannot matter
        sent(self.gina, other, 20)
        sent(self.frank, self.message, 5)  # this very message (Frank also asked for none)
        # Deciding ahead, this message already waiting for Carol counts as a duplicate too.
        services.decision_make(customer=self.carol, message=self.message, record=True, now=NOW)

        _moment, pairs = services.campaign_decide(self.campaign, now=NOW)
        set_wise = dict(pairs)
        for customer in (self.alice, self.carol, self.erin, self.frank, self.gina):
            alone, _row = services.decision_make(customer=customer, message=self.message, now=NOW)
            self.assertEqual(alone, set_wise[customer.pk], customer)
        self.assertEqual(set_wise[self.alice.pk].blocking_reason, "frequency_cap")
        self.assertEqual(set_wise[self.carol.pk].blocking_reason, "duplicate")
        # Erin is only held by the night in New York, not by her one message this week.
        self.assertEqual(set_wise[self.erin.pk].blocking_reason, "quiet_hours")

    def test_a_campaign_reaches_only_its_segment(self):
        segment = Segment.objects.create(
            name="Speaks English", rules=[{"field": "language", "op": "eq", "value": "en"}]
        )
        campaign = make_campaign(make_message(name="English only"), segment=segment)
        services.campaign_run(campaign_id=campaign.pk, now=NOW)
        self.assertEqual(
            list(Decision.objects.values_list("customer_id", "outcome")),
            [(self.alice.pk, "deliver")],
        )

    def test_a_cancelled_campaign_does_not_run(self):
        Campaign.objects.filter(pk=self.campaign.pk).update(status=Campaign.Status.CANCELLED)
        services.campaign_run(campaign_id=self.campaign.pk, now=NOW)
        self.assertFalse(Decision.objects.exists())


class QueryCountTest(CampaignTestCase):
    def states(self, ids, message):
        spec = queries.message_spec(message)
        params = queries.policy_params(spec.purpose)
        return list(queries.customer_states(ids, spec, params, now=NOW))

    def crowd(self, count: int, start: int = 0):
        people = []
        for i in range(start, start + count):
            person = make_customer(
                f"Person{i}", "X", email=f"p{i}@example.org", phone=f"+3361234{i:04d}"
            )
            add_contact(person, "postal", f"{i} rue de la Paix, Paris")
            grant(person, "marketing", "email", "sms")
            declare(person, "interests", "shoes, bags")
            services.preferences_save(
                actor=SYSTEM_TEST, customer=person, data={"channels": ["sms", "email"]}
            )
            if i % 3 == 0:
                services.do_not_contact_set(
                    actor=SYSTEM_TEST, customer=person, channel="sms", reason="staff"
                )
            people.append(person)
        return people

    def test_loading_states_costs_the_same_for_3_or_30_customers(self):
        message = make_message(topics=["shoes"])
        few = [p.pk for p in self.crowd(3)]
        with CaptureQueriesContext(connection) as spent:
            states = self.states(few, message)
        self.assertEqual(len(states), 3)
        many = few + [p.pk for p in self.crowd(27, start=3)]
        with self.assertNumQueries(len(spent.captured_queries)):
            states = self.states(many, message)
        self.assertEqual(len(states), 30)
        self.assertEqual({cid for cid, _s in states}, set(many))
        state = dict(states)[many[0]]
        self.assertEqual(state.interests, frozenset({"shoes", "bags"}))
        self.assertEqual(state.do_not_contact, frozenset({"sms"}))
        self.assertEqual(state.addresses, frozenset({"email", "sms", "phone", "postal"}))
        self.assertEqual(state.granted, frozenset({("marketing", "email"), ("marketing", "sms")}))

    def test_the_campaign_decides_in_a_fixed_number_of_queries(self):
        def spent_on_dry_run():
            with CaptureQueriesContext(connection) as spent:
                services.campaign_dry_run(campaign=self.campaign)
            return len(spent.captured_queries)

        before = spent_on_dry_run()
        self.crowd(20)
        self.assertEqual(spent_on_dry_run(), before)


class KilledRunTest(CampaignTestCase):
    def setUp(self):
        super().setUp()
        sms_dir = self.enterContext(tempfile.TemporaryDirectory())
        self.enterContext(self.settings(SMS_FILE_DIR=sms_dir))

    def test_a_killed_run_keeps_whole_chunks_and_a_rerun_completes_it(self):
        real_write = services._decisions_write
        calls = []

        def dies_on_the_second_chunk(pairs, **kwargs):
            calls.append(len(pairs))
            if len(calls) == 2:
                with transaction.atomic():
                    real_write(pairs, **kwargs)  # written, then the worker dies before commit
                    raise Killed
            return real_write(pairs, **kwargs)

        with (
            mock.patch.object(services, "CAMPAIGN_CHUNK", 2),
            mock.patch.object(services, "_decisions_write", dies_on_the_second_chunk),
            self.assertRaises(Killed),
        ):
            services.campaign_run(campaign_id=self.campaign.pk, now=NOW)
        self.assertEqual(calls, [2, 2])
        self.assertEqual(Decision.objects.count(), 2)
        first_chunk = set(Decision.objects.values_list("customer_id", flat=True))
        self.assertEqual(
            Delivery.objects.count(),
            Decision.objects.exclude(outcome="block").count(),
        )
        self.campaign.refresh_from_db()
        self.assertEqual(self.campaign.status, Campaign.Status.RUNNING)

        with mock.patch.object(services, "CAMPAIGN_CHUNK", 2):
            results = services.campaign_run(campaign_id=self.campaign.pk, now=NOW)
        customers = list(Decision.objects.values_list("customer_id", flat=True))
        self.assertEqual(len(customers), 7)
        self.assertEqual(len(set(customers)), 7)
        self.assertTrue(first_chunk <= set(customers))
        self.assertEqual(results["outcomes"], {"deliver": 2, "defer": 1, "block": 4})
        self.assertEqual(results["deliveries"], {"pending": 3})
        self.assertEqual(
            Delivery.objects.values("decision_id").distinct().count(), Delivery.objects.count()
        )

        # A third run finds nobody left to decide.
        services.campaign_run(campaign_id=self.campaign.pk, now=NOW)
        self.assertEqual(Decision.objects.count(), 7)
        self.assertEqual(Delivery.objects.count(), 3)

        later = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
        with time_machine.travel(later, tick=False):
            self.assertEqual(services.deliveries_send_due(), 3)
            self.assertEqual(services.deliveries_send_due(), 0)
        self.assertEqual(len(mail.outbox), 2)  # Alice and Erin by email; Carol by SMS
        self.assertEqual(Delivery.objects.filter(status="sent").count(), 3)
        self.campaign.refresh_from_db()
        self.assertEqual(self.campaign.status, Campaign.Status.DONE)


@time_machine.travel(NOW, tick=False)
class SurveyRecontactFromTheDatabaseTest(BaseTestCase):
    def test_an_invitation_finally_not_sent_does_not_count_as_asked(self):
        customer = make_customer("Ivy", "I", email="ivy@example.org")
        interaction = make_interaction(customer, make_touchpoint(), NOW - timedelta(hours=1))
        survey = make_message("feedback", channels=("email",), name="How was it?")
        # Duplicate suppression would stop the second ask first; this test is about the
        # interaction rule alone.
        services.policy_update(actor=SYSTEM_TEST, purpose="feedback", changes={"duplicate_days": 0})
        first, recorded = services.decision_make(
            customer=customer, message=survey, interaction_id=interaction.pk, record=True
        )
        self.assertEqual(first.outcome, "deliver")
        again, _ = services.decision_make(
            customer=customer, message=survey, interaction_id=interaction.pk
        )
        self.assertEqual(again.blocking_reason, "interaction_already_surveyed")
        Delivery.objects.filter(decision=recorded).update(status=Delivery.Status.CANCELLED)
        retry, _ = services.decision_make(
            customer=customer, message=survey, interaction_id=interaction.pk
        )
        self.assertEqual(retry.outcome, "deliver")


class PolicyInputTest(BaseTestCase):
    def test_booleans_are_not_numbers_for_policy_parameters(self):
        from django.core.exceptions import ValidationError

        for name in ("week_cap", "month_cap", "relevance_minimum", "duplicate_days"):
            with self.subTest(name=name), self.assertRaises(ValidationError) as caught:
                services.policy_update(actor=SYSTEM_TEST, purpose="marketing", changes={name: True})
            self.assertIn(name, caught.exception.message_dict)
