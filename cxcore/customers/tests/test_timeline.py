"""The customer timeline pages back in time, on the page (htmx or not) and in the API."""

from datetime import timedelta

from django.utils import timezone

from cxcore.customers.models import AuditEntry
from cxcore.customers.tests.factories import make_customer
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.test import BaseTestCase


class TimelineTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.customer = make_customer("Camille", "Martin")
        touchpoint = make_touchpoint("lille-phone", kind="phone_reception")
        start = timezone.now() - timedelta(days=100)
        for day in range(60):
            make_interaction(
                cls.customer, touchpoint, start + timedelta(days=day), outcome=f"day-{day:02d}"
            )

    def test_it_shows_the_newest_fifty_events_and_a_link_to_older_ones(self):
        self.client.force_login(self.agent)
        response = self.client.get(f"/customers/{self.customer.pk}/")
        self.assertEqual(len(response.context["timeline"]), 50)
        self.assertContains(response, "day-59")
        self.assertNotContains(response, "day-09")
        self.assertContains(response, "Show older events")

    def test_it_loads_older_events_as_a_fragment_without_auditing_a_new_view(self):
        self.client.force_login(self.agent)
        first = self.client.get(f"/customers/{self.customer.pk}/")
        views_before = AuditEntry.objects.filter(action="view").count()
        older = first.context["timeline_older"]
        response = self.client.get(
            f"/customers/{self.customer.pk}/",
            {"before": older.isoformat()},
            HTTP_HX_REQUEST="true",
        )
        self.assertNotContains(response, "<html")
        self.assertContains(response, "day-09")
        self.assertContains(response, "day-00")
        self.assertNotContains(response, "day-10")
        self.assertNotContains(response, "Show older events")
        self.assertEqual(AuditEntry.objects.filter(action="view").count(), views_before)

    def test_it_pages_the_api_timeline_with_a_cursor(self):
        self.client.force_login(self.analyst)
        first = self.client.get(f"/api/customers/{self.customer.pk}/timeline?limit=40").json()
        self.assertEqual(len(first["events"]), 40)
        self.assertIsNotNone(first["older"])
        second = self.client.get(
            f"/api/customers/{self.customer.pk}/timeline",
            {"limit": 40, "before": first["older"]},
        ).json()
        self.assertEqual(len(second["events"]), 20)
        self.assertIsNone(second["older"])
        outcomes = [e["outcome"] for e in first["events"] + second["events"]]
        self.assertEqual(len(set(outcomes)), 60)
