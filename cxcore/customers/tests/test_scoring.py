"""Lifecycle stage and relationship intensity: the pure rules; their refresh on the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.test import SimpleTestCase

from cxcore.customers.models import Customer
from cxcore.customers.scoring import Activity, lifecycle_stage, relationship_intensity
from cxcore.customers.services import customer_scores_refresh
from cxcore.customers.tests.factories import make_customer
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.test import BaseTestCase

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def seen(first_ago: timedelta, last_ago: timedelta | None = None, **activity) -> Activity:
    """Activity that began `first_ago` and last happened `last_ago` before NOW."""
    last_ago = first_ago if last_ago is None else last_ago
    return Activity(first_at=NOW - first_ago, last_at=NOW - last_ago, **activity)


class LifecycleStageTests(SimpleTestCase):
    def test_it_calls_someone_never_seen_a_prospect(self):
        self.assertEqual(lifecycle_stage(Activity(first_at=None, last_at=None), NOW), "prospect")

    def test_it_calls_someone_first_seen_up_to_ninety_days_ago_new(self):
        self.assertEqual(lifecycle_stage(seen(0 * DAY), NOW), "new")
        self.assertEqual(lifecycle_stage(seen(90 * DAY), NOW), "new")
        self.assertEqual(lifecycle_stage(seen(90 * DAY + SECOND), NOW), "active")

    def test_it_keeps_a_new_customer_new_even_when_quiet_since(self):
        self.assertEqual(lifecycle_stage(seen(80 * DAY, 79 * DAY), NOW), "new")

    def test_it_calls_someone_seen_within_180_days_active(self):
        self.assertEqual(lifecycle_stage(seen(400 * DAY, 1 * DAY), NOW), "active")
        self.assertEqual(lifecycle_stage(seen(400 * DAY, 180 * DAY), NOW), "active")

    def test_it_calls_someone_idle_from_180_days_to_a_year_lapsing(self):
        self.assertEqual(lifecycle_stage(seen(400 * DAY, 180 * DAY + SECOND), NOW), "lapsing")
        self.assertEqual(lifecycle_stage(seen(400 * DAY, 365 * DAY), NOW), "lapsing")

    def test_it_calls_someone_idle_over_a_year_dormant(self):
        self.assertEqual(lifecycle_stage(seen(400 * DAY, 365 * DAY + SECOND), NOW), "dormant")
        self.assertEqual(lifecycle_stage(seen(3000 * DAY, 2000 * DAY), NOW), "dormant")


class RelationshipIntensityTests(SimpleTestCase):
    def test_it_gives_nothing_to_someone_never_seen(self):
        self.assertEqual(relationship_intensity(Activity(first_at=None, last_at=None), NOW), 0)

    def test_it_scores_recency_in_steps(self):
        steps = [
            (0, 30),
            (30, 30),
            (31, 20),
            (90, 20),
            (91, 10),
            (180, 10),
            (181, 5),
            (365, 5),
            (366, 0),
        ]
        for days, score in steps:
            with self.subTest(days=days):
                self.assertEqual(relationship_intensity(seen(days * DAY), NOW), score)

    def test_it_counts_whole_days_of_idleness(self):
        self.assertEqual(relationship_intensity(seen(30 * DAY + 23 * timedelta(hours=1)), NOW), 30)

    def test_it_scores_frequency_up_to_twelve_interactions_a_year(self):
        old = 400 * DAY
        self.assertEqual(relationship_intensity(seen(old, count_12m=3), NOW), 6)
        self.assertEqual(relationship_intensity(seen(old, count_12m=12), NOW), 25)
        self.assertEqual(relationship_intensity(seen(old, count_12m=500), NOW), 25)

    def test_it_scores_channel_diversity_up_to_four_channels(self):
        old = 400 * DAY
        self.assertEqual(relationship_intensity(seen(old, channels_12m=1), NOW), 5)
        self.assertEqual(relationship_intensity(seen(old, channels_12m=4), NOW), 20)
        self.assertEqual(relationship_intensity(seen(old, channels_12m=9), NOW), 20)

    def test_it_rewards_two_way_contact_only_when_both_ways(self):
        old = 400 * DAY
        self.assertEqual(relationship_intensity(seen(old, inbound_12m=True), NOW), 0)
        self.assertEqual(relationship_intensity(seen(old, outbound_12m=True), NOW), 0)
        self.assertEqual(
            relationship_intensity(seen(old, inbound_12m=True, outbound_12m=True), NOW), 10
        )

    def test_it_rewards_feedback(self):
        self.assertEqual(relationship_intensity(seen(400 * DAY, feedback_12m=True), NOW), 15)

    def test_it_reaches_one_hundred_at_most(self):
        everything = seen(
            1 * DAY,
            count_12m=40,
            channels_12m=7,
            inbound_12m=True,
            outbound_12m=True,
            feedback_12m=True,
        )
        self.assertEqual(relationship_intensity(everything, NOW), 100)


@time_machine.travel(NOW, tick=False)
class ScoresRefreshTests(BaseTestCase):
    def setUp(self):
        self.store = make_touchpoint("store-visit")
        self.phone = make_touchpoint("phone-reception", kind="phone_reception")

    def test_it_recomputes_stage_intensity_and_contact_dates(self):
        regular = make_customer("Marie", "Curie")
        for days in (400, 100, 40, 5):
            make_interaction(regular, self.store, NOW - days * DAY)
        make_interaction(regular, self.phone, NOW - 20 * DAY, channel="phone", direction="outbound")
        make_interaction(regular, self.phone, NOW - 2 * DAY, channel="phone", kind="complaint")

        updated = customer_scores_refresh(customer_ids=[regular.pk])

        self.assertEqual(updated, 1)
        regular.refresh_from_db()
        self.assertEqual(regular.lifecycle_stage, "active")
        self.assertEqual(regular.first_interaction_at, NOW - 400 * DAY)
        self.assertEqual(regular.last_interaction_at, NOW - 2 * DAY)
        # recency 30 + frequency 25 * 5 / 12 + diversity 20 * 2 / 4 + two-way 10 + feedback 15
        self.assertEqual(regular.intensity, round(30 + 25 * 5 / 12 + 10 + 10 + 15))

    def test_it_sets_stages_from_the_interaction_log(self):
        newcomer = make_customer("New")
        lapsing = make_customer("Lapsing")
        dormant = make_customer("Dormant")
        prospect = make_customer("Prospect", lifecycle_stage="active", intensity=50)
        make_interaction(newcomer, self.store, NOW - 10 * DAY)
        make_interaction(lapsing, self.store, NOW - 500 * DAY)
        make_interaction(lapsing, self.store, NOW - 200 * DAY)
        make_interaction(dormant, self.store, NOW - 700 * DAY)

        updated = customer_scores_refresh()

        self.assertEqual(updated, 4)
        stages = dict(Customer.objects.values_list("first_name", "lifecycle_stage"))
        self.assertEqual(
            stages,
            {"New": "new", "Lapsing": "lapsing", "Dormant": "dormant", "Prospect": "prospect"},
        )
        prospect.refresh_from_db()
        self.assertEqual(prospect.intensity, 0)
        self.assertIsNone(prospect.last_interaction_at)

    def test_it_only_touches_the_customers_it_is_given(self):
        chosen = make_customer("Chosen")
        other = make_customer("Other")
        make_interaction(chosen, self.store, NOW - 10 * DAY)
        make_interaction(other, self.store, NOW - 10 * DAY)

        customer_scores_refresh(customer_ids=[chosen.pk])

        chosen.refresh_from_db()
        other.refresh_from_db()
        self.assertEqual(chosen.lifecycle_stage, "new")
        self.assertEqual(other.lifecycle_stage, "prospect")
        self.assertIsNone(other.last_interaction_at)

    def test_it_leaves_out_interactions_older_than_a_year_from_intensity(self):
        customer = make_customer("Old friend")
        for days in (370, 380, 390):
            make_interaction(customer, self.store, NOW - days * DAY)

        customer_scores_refresh(customer_ids=[customer.pk])

        customer.refresh_from_db()
        self.assertEqual(customer.lifecycle_stage, "dormant")
        self.assertEqual(customer.intensity, 0)

    def test_it_refreshes_live_customers_only_by_default(self):
        survivor = make_customer("Survivor")
        tombstone = make_customer("Tombstone", merged_into=survivor, lifecycle_stage="active")

        customer_scores_refresh()

        tombstone.refresh_from_db()
        self.assertEqual(tombstone.lifecycle_stage, "active")
