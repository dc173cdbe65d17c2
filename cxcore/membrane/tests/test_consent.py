"""The consent ledger, do-not-contact, preferences and the company's policy parameters."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

import time_machine
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from cxcore.customers.models import AuditEntry
from cxcore.customers.services import customer_merge
from cxcore.customers.tests.factories import add_contact, make_customer
from cxcore.lib.actor import Actor
from cxcore.membrane import services
from cxcore.membrane.models import (
    ConsentEvent,
    ConsentState,
    ConsentWording,
    DoNotContact,
    PolicySetting,
    Preference,
)
from cxcore.membrane.tests.factories import SYSTEM_TEST, WORDING, grant, make_message, withdraw
from cxcore.test import BaseTestCase

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # noon in Paris, outside quiet hours


@time_machine.travel(NOW, tick=False)
class ConsentTestCase(BaseTestCase):
    def setUp(self):
        self.marie = make_customer(
            "Marie", "Dupont", email="marie@example.org", phone="+33612345678"
        )
        self.wording = services.consent_wording_for(text=WORDING, language="en", version="v1")

    def record(self, customer=None, **overrides):
        values = {
            "actor": SYSTEM_TEST,
            "customer": customer or self.marie,
            "purpose": "marketing",
            "channel": "email",
            "granted": True,
            "source": "web_form",
            "wording": self.wording,
        }
        values.update(overrides)
        return services.consent_record(**values)

    def state(self, purpose="marketing", channel="email", customer=None):
        return ConsentState.objects.get(
            customer=customer or self.marie, purpose=purpose, channel=channel
        )

    def decide(self, message, customer=None):
        decision, _row = services.decision_make(customer=customer or self.marie, message=message)
        return decision


class LedgerTest(ConsentTestCase):
    def test_a_recorded_event_cannot_be_changed_or_deleted(self):
        event = self.record()
        event.granted = False
        with self.assertRaises(PermissionError):
            event.save()
        with self.assertRaises(PermissionError):
            event.delete()
        event.refresh_from_db()
        self.assertTrue(event.granted)
        self.assertEqual(ConsentEvent.objects.count(), 1)

    def test_the_ledger_cannot_be_edited_in_bulk(self):
        event = self.record()
        events = ConsentEvent.objects.filter(pk=event.pk)
        with self.assertRaises(PermissionError):
            events.update(granted=False)
        with self.assertRaises(PermissionError):
            events.delete()
        # bulk_update opens its own atomic block without a savepoint: give it one.
        with self.assertRaises(PermissionError), transaction.atomic():
            ConsentEvent.objects.bulk_update([event], ["granted"])
        with self.assertRaises(PermissionError):
            ConsentWording.objects.all().update(text="Something else")
        with self.assertRaises(PermissionError):
            ConsentWording.objects.all().delete()
        self.assertEqual(ConsentEvent.objects.get().granted, True)
        self.assertEqual(ConsentWording.objects.get().text, WORDING)

    def test_the_admin_can_read_the_ledger_but_never_change_it(self):
        event = self.record()
        root = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
        request = RequestFactory().get("/admin/")
        request.user = root
        for model, row in ((ConsentEvent, event), (ConsentWording, self.wording)):
            model_admin = admin.site._registry[model]
            self.assertFalse(model_admin.has_add_permission(request), model)
            self.assertFalse(model_admin.has_change_permission(request), model)
            self.assertFalse(model_admin.has_change_permission(request, row), model)
            self.assertFalse(model_admin.has_delete_permission(request), model)
            self.assertFalse(model_admin.has_delete_permission(request, row), model)
            self.assertTrue(model_admin.has_view_permission(request, row), model)

        self.client.force_login(root)
        url = f"/admin/membrane/consentevent/{event.pk}/"
        self.assertEqual(self.client.get(f"{url}change/").status_code, 200)
        self.assertEqual(self.client.post(f"{url}change/", {"granted": ""}).status_code, 403)
        self.assertEqual(self.client.post(f"{url}delete/", {"post": "yes"}).status_code, 403)
        self.assertEqual(self.client.get("/admin/membrane/consentevent/add/").status_code, 403)
        self.assertTrue(ConsentEvent.objects.get().granted)

    def test_a_consent_moves_the_current_state_and_is_audited(self):
        event = self.record()
        state = self.state()
        self.assertEqual((state.granted, state.event_id, state.changed_at), (True, event.pk, NOW))
        self.assertEqual(event.actor_label, "test")
        self.assertEqual(event.wording, self.wording)
        entry = AuditEntry.objects.get(action="consent_granted")
        self.assertEqual(
            (entry.customer_id, entry.target), (self.marie.pk, "consent:marketing/email")
        )
        self.assertEqual(entry.changes, {"source": "web_form", "wording": self.wording.sha256[:12]})

        later = NOW + timedelta(minutes=1)
        with time_machine.travel(later, tick=False):
            withdrawal = self.record(granted=False)
        state = self.state()
        self.assertEqual((state.granted, state.event_id), (False, withdrawal.pk))
        self.assertEqual(ConsentEvent.objects.count(), 2)
        self.assertTrue(AuditEntry.objects.filter(action="consent_withdrawn").exists())

    def test_consent_without_source_or_wording_is_refused_and_nothing_is_written(self):
        with self.assertRaises(ValidationError) as raised:
            self.record(source="", wording=None)
        self.assertEqual(set(raised.exception.message_dict), {"source", "wording"})
        self.assertFalse(ConsentEvent.objects.exists())
        self.assertFalse(ConsentState.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action__startswith="consent").exists())

    def test_unknown_purposes_channels_and_sources_are_refused(self):
        with self.assertRaises(ValidationError) as raised:
            self.record(purpose="spam", channel="pigeon", source="rumour")
        self.assertEqual(set(raised.exception.message_dict), {"purpose", "channel", "source"})
        self.assertFalse(ConsentEvent.objects.exists())

    def test_a_consent_dated_in_the_future_is_refused(self):
        with self.assertRaises(ValidationError) as raised:
            self.record(occurred_at=NOW + timedelta(days=1))
        self.assertEqual(list(raised.exception.message_dict), ["occurred_at"])
        self.assertFalse(ConsentEvent.objects.exists())
        # A few minutes ahead is a clock out of step, not a forgery.
        self.record(occurred_at=NOW + timedelta(minutes=4))
        self.assertEqual(ConsentEvent.objects.count(), 1)

    def test_a_date_without_a_time_zone_is_refused(self):
        with self.assertRaises(ValidationError) as raised:
            self.record(occurred_at=datetime(2026, 6, 1, 12, 0))
        self.assertEqual(list(raised.exception.message_dict), ["occurred_at"])
        self.assertFalse(ConsentEvent.objects.exists())

    def test_consent_for_a_merged_customer_is_refused(self):
        survivor = make_customer("Marie", "Dupont")
        self.marie.merged_into = survivor
        self.marie.save()
        with self.assertRaises(ValidationError) as raised:
            self.record()
        self.assertEqual(list(raised.exception.message_dict), ["customer"])

    def test_a_late_withdrawal_is_kept_but_does_not_override_a_newer_consent(self):
        newer = self.record(occurred_at=NOW - timedelta(days=1))
        late = self.record(granted=False, occurred_at=NOW - timedelta(days=10), source="paper")
        state = self.state()
        self.assertEqual((state.granted, state.event_id), (True, newer.pk))
        self.assertEqual(state.changed_at, NOW - timedelta(days=1))
        self.assertEqual(
            list(ConsentEvent.objects.order_by("id").values_list("id", "granted")),
            [(newer.pk, True), (late.pk, False)],
        )
        self.assertEqual(self.decide(make_message()).outcome, "deliver")

    def test_a_late_consent_does_not_override_a_newer_withdrawal(self):
        self.record(granted=False, occurred_at=NOW - timedelta(days=1))
        self.record(occurred_at=NOW - timedelta(days=10), source="paper")
        self.assertFalse(self.state().granted)
        self.assertEqual(ConsentEvent.objects.count(), 2)
        decision = self.decide(make_message(channels=("email",)))
        self.assertEqual(decision.outcome, "block")
        self.assertIn("consent_withdrawn", [r.code for r in decision.reasons])

    def test_the_wording_is_stored_once_by_its_hash(self):
        again = services.consent_wording_for(text=f"  {WORDING}\n", language="en", version="v1")
        self.assertEqual(again.pk, self.wording.pk)
        self.assertEqual(self.wording.sha256, hashlib.sha256(WORDING.encode()).hexdigest())
        self.record(channel="email")
        self.record(channel="sms")
        grant(self.marie, "research", "email")
        self.assertEqual(ConsentWording.objects.count(), 1)
        self.assertEqual(set(ConsentEvent.objects.values_list("wording_id", flat=True)), {again.pk})

        other = services.consent_wording_for(text="Another text.", language="fr")
        self.assertNotEqual(other.pk, self.wording.pk)
        self.assertEqual(ConsentWording.objects.count(), 2)
        with self.assertRaises(ValidationError) as raised:
            services.consent_wording_for(text="   ", language="fr")
        self.assertEqual(list(raised.exception.message_dict), ["wording"])

    def test_rebuilding_the_states_reproduces_them(self):
        john = make_customer("John", "Smith", email="john@example.org")
        self.record(occurred_at=NOW - timedelta(days=5))
        self.record(granted=False, occurred_at=NOW - timedelta(days=2))
        self.record(occurred_at=NOW - timedelta(days=9))  # late: changes nothing
        self.record(channel="sms", occurred_at=NOW - timedelta(days=3))
        self.record(purpose="research", granted=False, occurred_at=NOW - timedelta(days=1))
        self.record(john, occurred_at=NOW - timedelta(days=4))
        withdraw(john, "marketing", "email", when=NOW - timedelta(hours=1))

        def snapshot():
            return sorted(
                ConsentState.objects.values_list(
                    "customer_id", "purpose", "channel", "granted", "event_id", "changed_at"
                )
            )

        before = snapshot()
        self.assertEqual(len(before), 4)
        ConsentState.objects.filter(customer=self.marie).update(granted=True)
        ConsentState.objects.filter(customer=john).delete()
        self.assertEqual(services.consent_states_rebuild(), 4)
        self.assertEqual(snapshot(), before)
        self.assertFalse(self.state().granted)
        self.assertFalse(self.state(customer=john).granted)


class DoNotContactTest(ConsentTestCase):
    def test_do_not_contact_blocks_the_channel_until_lifted(self):
        grant(self.marie, "marketing", "email")
        message = make_message(channels=("email",))
        self.assertEqual(self.decide(message).outcome, "deliver")

        entry = services.do_not_contact_set(
            actor=SYSTEM_TEST, customer=self.marie, channel="email", reason="unsubscribed"
        )
        decision = self.decide(message)
        self.assertEqual(decision.outcome, "block")
        self.assertIn("do_not_contact", [r.code for r in decision.reasons])
        self.assertTrue(
            AuditEntry.objects.filter(action="do_not_contact", customer_id=self.marie.pk).exists()
        )
        # Service messages need no consent but respect do-not-contact all the same.
        self.assertEqual(self.decide(make_message("service", channels=("email",))).outcome, "block")

        again = services.do_not_contact_set(
            actor=SYSTEM_TEST, customer=self.marie, channel="email", reason="complaint"
        )
        self.assertEqual(again.pk, entry.pk)
        self.assertEqual(DoNotContact.objects.count(), 1)
        self.assertEqual(AuditEntry.objects.filter(action="do_not_contact").count(), 1)

        services.do_not_contact_lift(actor=Actor(via="console"), entry=entry)
        entry.refresh_from_db()
        self.assertEqual((entry.lifted_at, entry.lifted_by), (NOW, "console"))
        self.assertEqual(self.decide(message).outcome, "deliver")
        self.assertTrue(AuditEntry.objects.filter(action="do_not_contact_lifted").exists())

        services.do_not_contact_set(
            actor=SYSTEM_TEST, customer=self.marie, channel="email", reason="staff"
        )
        self.assertEqual(DoNotContact.objects.filter(lifted_at__isnull=True).count(), 1)
        self.assertEqual(DoNotContact.objects.count(), 2)

    def test_do_not_contact_on_email_leaves_sms(self):
        grant(self.marie, "marketing", "email", "sms")
        services.do_not_contact_set(
            actor=SYSTEM_TEST, customer=self.marie, channel="email", reason="bounced"
        )
        decision = self.decide(make_message(channels=("email", "sms")))
        self.assertEqual((decision.outcome, decision.channel), ("deliver", "sms"))

    def test_unknown_channels_and_reasons_are_refused(self):
        with self.assertRaises(ValidationError) as raised:
            services.do_not_contact_set(
                actor=SYSTEM_TEST, customer=self.marie, channel="fax", reason="staff"
            )
        self.assertEqual(list(raised.exception.message_dict), ["channel"])
        with self.assertRaises(ValidationError) as raised:
            services.do_not_contact_set(
                actor=SYSTEM_TEST, customer=self.marie, channel="email", reason="whim"
            )
        self.assertEqual(list(raised.exception.message_dict), ["reason"])
        self.assertFalse(DoNotContact.objects.exists())


class PreferencesTest(ConsentTestCase):
    def save(self, **data):
        return services.preferences_save(actor=SYSTEM_TEST, customer=self.marie, data=data)

    def test_preferences_are_saved_normalised_and_audited(self):
        preference = self.save(
            channels=["sms", "email"],
            topics=["Shoes", "shoes ", "bags"],
            max_per_week=2,
            purpose_caps={"marketing": {"week": 1}},
            quiet_start=time(20, 0),
            quiet_end=time(9, 0),
            quiet_days=[6],
            accessibility=["large_print"],
            marketing_paused_until=date(2026, 7, 1),
        )
        preference.refresh_from_db()
        self.assertEqual(preference.channels, ["sms", "email"])
        self.assertEqual(preference.topics, ["bags", "shoes"])
        self.assertEqual(preference.quiet_end, time(9, 0))
        self.assertEqual(preference.marketing_paused_until, date(2026, 7, 1))
        entry = AuditEntry.objects.get(action="preferences")
        self.assertEqual(entry.customer_id, self.marie.pk)
        self.assertEqual(entry.changes["topics"], ["bags", "shoes"])
        self.assertEqual(entry.changes["quiet_start"], "20:00:00")

        self.save(**{**self.current(), "topics": ["shoes", "bags"]})  # nothing changes
        self.assertEqual(AuditEntry.objects.filter(action="preferences").count(), 1)
        self.save()  # an empty form clears everything
        preference.refresh_from_db()
        self.assertEqual((preference.channels, preference.max_per_week), ([], None))

    def current(self) -> dict:
        preference = Preference.objects.get(customer=self.marie)
        return {name: getattr(preference, name) for name in services.PREFERENCE_FIELDS}

    def test_each_preference_field_is_validated(self):
        cases = [
            ({"channels": ["email", "fax"]}, "channels"),
            ({"channels": "email"}, "channels"),
            ({"channels": ["sms", "sms"]}, "channels"),
            ({"topics": ["x" * 51]}, "topics"),
            ({"topics": ["  "]}, "topics"),
            ({"topics": [3]}, "topics"),
            ({"topics": [f"topic{i}" for i in range(31)]}, "topics"),
            ({"max_per_week": -1}, "max_per_week"),
            ({"max_per_week": 101}, "max_per_week"),
            ({"max_per_week": "3"}, "max_per_week"),
            ({"max_per_week": True}, "max_per_week"),
            ({"max_per_month": 2.5}, "max_per_month"),
            ({"purpose_caps": ["marketing"]}, "purpose_caps"),
            ({"purpose_caps": {"spam": {"week": 1}}}, "purpose_caps"),
            ({"purpose_caps": {"marketing": {"day": 1}}}, "purpose_caps"),
            ({"purpose_caps": {"marketing": {"week": 500}}}, "purpose_caps"),
            ({"quiet_start": time(22, 0)}, "quiet_end"),
            ({"quiet_end": time(7, 0)}, "quiet_end"),
            ({"quiet_start": "25:00", "quiet_end": time(7, 0)}, "quiet_start"),
            ({"quiet_start": time(22, 0), "quiet_end": 7}, "quiet_end"),
            ({"quiet_days": [7]}, "quiet_days"),
            ({"quiet_days": ["sunday"]}, "quiet_days"),
            ({"quiet_days": list(range(7))}, "quiet_days"),
            ({"accessibility": ["braille"]}, "accessibility"),
            ({"accessibility": ["no_digital"], "channels": ["postal", "email"]}, "channels"),
            ({"marketing_paused_until": "tomorrow"}, "marketing_paused_until"),
            ({"marketing_paused_until": NOW}, "marketing_paused_until"),
            ({"favourite_colour": "blue"}, "favourite_colour"),
        ]
        for data, field in cases:
            with self.subTest(data=data):
                with self.assertRaises(ValidationError) as raised:
                    self.save(**data)
                self.assertIn(field, raised.exception.message_dict)
        self.assertFalse(Preference.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action="preferences").exists())

    def test_no_digital_with_post_and_phone_is_accepted(self):
        preference = self.save(accessibility=["no_digital"], channels=["postal", "phone"])
        self.assertEqual(preference.channels, ["postal", "phone"])

    def test_preferences_shape_decisions(self):
        grant(self.marie, "marketing", "email", "sms")
        message = make_message(channels=("email", "sms"))
        self.save(channels=["sms", "email"])
        self.assertEqual(self.decide(message).channel, "sms")
        self.save(max_per_week=0)
        self.assertEqual(self.decide(message).blocking_reason, "cap_zero")
        self.save(marketing_paused_until=date(2026, 6, 20))
        decision = self.decide(message)
        self.assertEqual(
            (decision.outcome, decision.blocking_reason), ("defer", "marketing_paused")
        )


class PolicyUpdateTest(ConsentTestCase):
    def test_a_policy_change_is_audited_and_changes_decisions(self):
        add_contact(self.marie, "postal", "1 rue de la Paix, Paris")
        grant(self.marie, "marketing", "email")
        message = make_message(channels=("email",))
        evening = datetime(2026, 6, 10, 20, 0, tzinfo=UTC)  # 22:00 in Paris
        with time_machine.travel(evening, tick=False):
            self.assertEqual(self.decide(message).blocking_reason, "quiet_hours")
            services.policy_update(
                actor=Actor(user=self.admin, via="console"),
                purpose="marketing",
                changes={"quiet_start": None, "quiet_end": None},
            )
            self.assertEqual(self.decide(message).outcome, "deliver")

        entry = AuditEntry.objects.get(action="policy_changed")
        self.assertEqual((entry.actor, entry.target), (self.admin, "policy:marketing"))
        self.assertEqual(
            entry.changes, {"before": {}, "after": {"quiet_start": None, "quiet_end": None}}
        )

        services.policy_update(actor=SYSTEM_TEST, purpose="marketing", changes={"week_cap": 0})
        self.assertEqual(self.decide(message).blocking_reason, "cap_zero")
        latest = AuditEntry.objects.filter(action="policy_changed").order_by("-id").first()
        self.assertEqual(latest.changes["before"], {"quiet_start": None, "quiet_end": None})
        self.assertEqual(latest.changes["after"]["week_cap"], 0)
        self.assertEqual(PolicySetting.objects.get(purpose="marketing").updated_by, "test")

        services.policy_update(
            actor=SYSTEM_TEST,
            purpose="marketing",
            changes={"consent_required": False, "week_cap": None},
        )
        self.assertEqual(self.decide(make_message(channels=("postal",))).outcome, "deliver")

    def test_a_quiet_window_given_as_a_time_is_stored_and_read_back(self):
        services.policy_update(
            actor=SYSTEM_TEST,
            purpose="service",
            changes={"quiet_start": time(19, 30), "quiet_end": "07:15"},
        )
        from cxcore.membrane.queries import policy_params

        params = policy_params("service")
        self.assertEqual((params.quiet_start, params.quiet_end), (time(19, 30), time(7, 15)))
        self.assertFalse(params.consent_required)  # the defaults stay under the change

    def test_invalid_parameters_are_refused_and_nothing_is_logged(self):
        cases = [
            ("spam", {"week_cap": 1}, "purpose"),
            ("marketing", {"colour": "red"}, "colour"),
            ("marketing", {"consent_required": "no"}, "consent_required"),
            ("marketing", {"relevance_minimum": 2}, "relevance_minimum"),
            ("marketing", {"quiet_start": "late"}, "quiet_start"),
            ("marketing", {"week_cap": 101}, "week_cap"),
            ("marketing", {"duplicate_days": -1}, "duplicate_days"),
            ("marketing", {"bad_experience_days": True}, "bad_experience_days"),
        ]
        for purpose, changes, field in cases:
            with self.subTest(changes=changes):
                with self.assertRaises(ValidationError) as raised:
                    services.policy_update(actor=SYSTEM_TEST, purpose=purpose, changes=changes)
                self.assertIn(field, raised.exception.message_dict)
        self.assertFalse(PolicySetting.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action="policy_changed").exists())


class MergeCarriesConsentTests(BaseTestCase):
    def test_a_merge_carries_the_newer_consents_do_not_contact_and_preferences(self):
        earlier = timezone.now() - timedelta(days=10)
        survivor = make_customer("Ann", "A", email="ann@example.org")
        duplicate = make_customer("Ann", "A", email="ann.a@example.org")
        grant(survivor, "marketing", "email", when=earlier)
        grant(survivor, "feedback", "sms", when=timezone.now())
        withdraw(duplicate, "marketing", "email")  # newer: the withdrawal must hold
        withdraw(duplicate, "feedback", "sms", when=earlier)  # older: the survivor's stays
        grant(duplicate, "research", "postal")  # the survivor had no say: carried over
        services.do_not_contact_set(
            actor=Actor(via="test"), customer=duplicate, channel="phone", reason="complaint"
        )
        services.preferences_save(
            actor=Actor(via="test"), customer=duplicate, data={"channels": ["postal"]}
        )
        ledger_before = ConsentEvent.objects.filter(customer=duplicate).count()

        customer_merge(actor=Actor(user=self.admin), survivor=survivor, merged=duplicate)

        def state(purpose, channel):
            return ConsentState.objects.get(
                customer=survivor, purpose=purpose, channel=channel
            ).granted

        self.assertFalse(state("marketing", "email"))
        self.assertTrue(state("feedback", "sms"))
        self.assertTrue(state("research", "postal"))
        self.assertTrue(
            DoNotContact.objects.filter(customer=survivor, channel="phone", lifted_at=None).exists()
        )
        self.assertEqual(Preference.objects.get(customer=survivor).channels, ["postal"])
        # The merged record's own ledger is untouched.
        self.assertEqual(ConsentEvent.objects.filter(customer=duplicate).count(), ledger_before)
        carried = ConsentEvent.objects.filter(customer=survivor, note__startswith="merged from")
        self.assertEqual(carried.count(), 2)
