"""The overview page: figures by role, labels in the reader's language, a fixed query count."""

from django.utils import timezone, translation

from cxcore.customers.tests.factories import make_customer
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.test import BaseTestCase


class OverviewTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        tp = make_touchpoint("lille-phone", kind="phone_reception")
        make_interaction(make_customer(), tp, channel="in_person", occurred_at=timezone.now())

    def test_it_shows_stage_and_channel_labels_not_codes(self):
        self.client.force_login(self.manager)
        with self.assertNumQueries(9):
            response = self.client.get("/")
        self.assertContains(response, "In person")
        self.assertNotContains(response, "in_person")
        self.assertContains(response, "Identity review")

    def test_it_speaks_french(self):
        self.client.force_login(self.manager)
        with translation.override("fr"):
            response = self.client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
        self.assertContains(response, "En personne")

    def test_it_shows_an_auditor_no_customer_figure(self):
        self.client.force_login(self.auditor)
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("customer_count", response.context)
        self.assertNotIn("by_channel", response.context)


class NavigationTestCase(BaseTestCase):
    def test_it_lights_the_entry_of_the_area_the_page_belongs_to(self):
        self.client.force_login(self.admin)
        customer = make_customer()
        for path, lit in (
            ("/", "Overview"),
            ("/customers/", "Customers"),
            (f"/customers/{customer.pk}/", "Customers"),
            ("/customers/segments/new/", "Segments"),
            ("/customers/identity-review/", "Identity review"),
            ("/customers/audit/", "Audit log"),
            ("/interactions/", "Interactions"),
            ("/interactions/imports/", "Imports"),
            ("/tokens/", "API tokens"),
        ):
            with self.subTest(path=path):
                items = self.client.get(path).context["nav_items"]
                self.assertEqual([str(i["label"]) for i in items if i["current"]], [lit])
