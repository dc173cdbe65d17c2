"""The demo company: sizes, determinism, idempotency and the patterns analytics must find."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from cxcore.customers.models import (
    ContactPoint,
    Customer,
    CustomerMerge,
    DeclaredAttribute,
    IdentityConflict,
    Segment,
)
from cxcore.demo import DemoCompany, demo_seed
from cxcore.interactions.models import Interaction, Touchpoint
from cxcore.test import BaseTestCase

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def late_share(rows, touchpoint):
    outcomes = [raw["outcome"] for raw in rows if raw["touchpoint"] == touchpoint]
    return sum(outcome == "late" for outcome in outcomes) / len(outcomes)


def test_it_generates_the_same_company_for_the_same_seed():
    first = list(DemoCompany(seed=3, customers=80, interactions=900, now=NOW).rows())
    again = list(DemoCompany(seed=3, customers=80, interactions=900, now=NOW).rows())
    other = list(DemoCompany(seed=4, customers=80, interactions=900, now=NOW).rows())

    assert first == again
    assert len(first) == 900
    assert [raw["touchpoint"] for _i, raw in first] != [raw["touchpoint"] for _i, raw in other]


def test_it_gives_every_customer_their_identities_and_name_on_their_first_row():
    company = DemoCompany(seed=5, customers=100, interactions=1200, now=NOW)
    seen = set()
    for index, raw in company.rows():
        if index in seen:
            continue
        seen.add(index)
        profile = company.profiles[index]
        assert raw["first_name"] == profile.first_name
        assert raw["language"] in {"fr", "en"}
        assert ("email" in raw) == (profile.email is not None)
        assert ("phone" in raw) == (profile.phone is not None)
    assert len(seen) == 100


def test_it_spreads_interactions_over_eighteen_months_without_reaching_the_future():
    rows = [
        raw for _i, raw in DemoCompany(seed=6, customers=200, interactions=2400, now=NOW).rows()
    ]
    times = [raw["occurred_at"] for raw in rows]

    assert max(times) <= NOW
    assert min(times) < NOW - timedelta(days=480)
    assert min(times) >= NOW - timedelta(days=550)


def test_it_plants_late_deliveries_and_a_weak_phone_welcome_in_lille():
    rows = [
        raw for _i, raw in DemoCompany(seed=8, customers=2000, interactions=24000, now=NOW).rows()
    ]

    assert late_share(rows, "delivery-colis-express") > 0.25
    assert late_share(rows, "delivery-relais-vert") < 0.12

    def weak_share(touchpoint):
        calls = [
            r["outcome"] for r in rows if r["touchpoint"] == touchpoint and r["kind"] == "call"
        ]
        return sum(outcome in {"long_wait", "unanswered"} for outcome in calls) / len(calls)

    assert weak_share("phone-lille-centre") > 0.3
    assert weak_share("phone-paris-rivoli") < 0.15
    assert weak_share("phone-lyon-part-dieu") < 0.15


def test_it_writes_some_notes_in_each_language():
    company = DemoCompany(seed=9, customers=300, interactions=3600, now=NOW)
    languages = {
        company.profiles[index].language for index, raw in company.rows() if raw.get("note")
    }

    assert languages == {"fr", "en"}


class DemoSeedTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.done = []
        cls.summary = demo_seed(seed=7, customers=60, interactions=600, progress=cls.done.append)

    def test_it_creates_about_the_requested_numbers(self):
        self.assertEqual(Interaction.objects.count(), 600)
        self.assertEqual(Customer.objects.count(), 60)
        self.assertEqual(Customer.objects.live().count(), 59)
        self.assertEqual(self.summary["interactions"], 600)
        self.assertEqual(self.summary["customers"], 59)
        self.assertEqual(self.summary["rejected"], 0)
        self.assertEqual(self.done, [600])

    def test_it_creates_the_reference_data_with_names_in_both_languages(self):
        touchpoint = Touchpoint.objects.get(code="phone-lille-centre")
        self.assertEqual(touchpoint.site.code, "lille-centre")
        self.assertEqual(touchpoint.team.code, "store-lille-centre")
        self.assertIn("Lille", touchpoint.name_fr)
        self.assertEqual(
            Touchpoint.objects.get(code="delivery-colis-express").partner.kind, "logistics"
        )
        self.assertFalse(Touchpoint.objects.filter(name_en="").exists())
        self.assertFalse(Touchpoint.objects.filter(name_fr="").exists())

    def test_it_creates_nothing_twice_when_run_again(self):
        before = {
            "interactions": Interaction.objects.count(),
            "customers": Customer.objects.count(),
            "contact_points": ContactPoint.objects.count(),
            "conflicts": IdentityConflict.objects.count(),
            "merges": CustomerMerge.objects.count(),
            "attributes": DeclaredAttribute.objects.count(),
            "segments": Segment.objects.count(),
            "touchpoints": Touchpoint.objects.count(),
        }

        summary = demo_seed(seed=7, customers=60, interactions=600)

        self.assertEqual(summary["interactions_created"], 0)
        self.assertEqual(summary["customers_created"], 0)
        self.assertEqual(summary["merges"], 0)
        after = {
            "interactions": Interaction.objects.count(),
            "customers": Customer.objects.count(),
            "contact_points": ContactPoint.objects.count(),
            "conflicts": IdentityConflict.objects.count(),
            "merges": CustomerMerge.objects.count(),
            "attributes": DeclaredAttribute.objects.count(),
            "segments": Segment.objects.count(),
            "touchpoints": Touchpoint.objects.count(),
        }
        self.assertEqual(after, before)

    def test_it_makes_colis_express_late_far_more_often_than_the_other_carrier(self):
        def share(code):
            deliveries = Interaction.objects.filter(touchpoint__code=code, kind="delivery")
            return deliveries.filter(outcome="late").count() / deliveries.count()

        self.assertGreater(share("delivery-colis-express"), 2 * share("delivery-relais-vert"))

    def test_it_leaves_open_identity_conflicts_and_one_merge_for_review(self):
        self.assertGreaterEqual(
            IdentityConflict.objects.filter(status=IdentityConflict.Status.OPEN).count(), 1
        )
        merge = CustomerMerge.objects.get()
        self.assertEqual(merge.merged.merged_into, merge.survivor)
        self.assertEqual(merge.merged.last_name, merge.survivor.last_name)
        self.assertFalse(merge.merged.interactions.exists())

    def test_it_stores_identities_normalised(self):
        emails = ContactPoint.objects.filter(kind="email").values_list("value", flat=True)
        phones = ContactPoint.objects.filter(kind="phone").values_list("value", flat=True)
        self.assertTrue(emails)
        self.assertTrue(all(email == email.lower() for email in emails))
        self.assertTrue(all(phone.startswith("+33") and len(phone) == 12 for phone in phones))

    def test_it_gives_customers_names_and_mostly_french(self):
        live = Customer.objects.live()
        self.assertFalse(live.filter(first_name="").exists())
        languages = Counter(live.values_list("language", flat=True))
        self.assertGreater(languages["fr"], languages["en"])

    def test_it_spreads_customers_over_lifecycle_stages_and_intensities(self):
        stages = dict(
            Customer.objects.live()
            .values_list("lifecycle_stage")
            .annotate(total=Count("id"))
            .values_list("lifecycle_stage", "total")
        )
        self.assertGreaterEqual(len(stages), 3)
        self.assertNotIn("prospect", stages)
        intensities = set(Customer.objects.live().values_list("intensity", flat=True))
        self.assertGreater(len(intensities), 5)

    def test_it_declares_attributes_and_saves_segments(self):
        customers_with_attributes = (
            DeclaredAttribute.objects.values("customer_id").distinct().count()
        )
        self.assertGreater(customers_with_attributes, 5)
        self.assertLess(customers_with_attributes, 30)
        self.assertTrue(Segment.objects.filter(name="English-speaking customers").exists())
        self.assertGreaterEqual(Segment.objects.count(), 3)

    def test_it_writes_interactions_from_the_demo_source_up_to_now(self):
        self.assertEqual(set(Interaction.objects.values_list("source", flat=True)), {"demo"})
        latest = Interaction.objects.order_by("-occurred_at").first().occurred_at
        self.assertLessEqual(latest, timezone.now())
