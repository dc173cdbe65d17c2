"""Agents create customers and write down interactions from the console."""

from django.utils import timezone

from cxcore.customers.models import AuditEntry, ContactPoint, Customer
from cxcore.customers.tests.factories import add_contact, make_customer
from cxcore.interactions.models import Interaction
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.test import BaseTestCase


class NewCustomerTestCase(BaseTestCase):
    def test_it_creates_a_customer_with_normalised_contact_points(self):
        self.client.force_login(self.agent)
        response = self.client.post(
            "/customers/new/",
            {
                "first_name": "Camille",
                "last_name": "Martin",
                "language": "fr",
                "time_zone": "Europe/Paris",
                "email": "Camille.Martin@Example.FR",
                "phone": "06 12 34 56 78",
            },
        )
        customer = Customer.objects.get()
        self.assertRedirects(response, f"/customers/{customer.pk}/")
        self.assertEqual(
            set(customer.contact_points.values_list("kind", "value")),
            {("email", "camille.martin@example.fr"), ("phone", "+33612345678")},
        )
        self.assertTrue(AuditEntry.objects.filter(customer_id=customer.pk, action="create"))

    def test_it_refuses_an_email_that_belongs_to_someone_else_and_creates_nothing(self):
        other = make_customer("Léa", "Petit")
        add_contact(other, "email", "lea@example.fr")
        self.client.force_login(self.agent)
        response = self.client.post(
            "/customers/new/",
            {
                "first_name": "Lea",
                "language": "fr",
                "time_zone": "Europe/Paris",
                "email": "LEA@example.fr",
                "phone": "not a phone",
            },
        )
        self.assertEqual(response.status_code, 422)
        form = response.context["form"]
        self.assertIn("merge them instead", form.errors["email"][0])
        self.assertIn("not a phone", form.errors["phone"][0])
        self.assertEqual(Customer.objects.count(), 1)
        self.assertEqual(ContactPoint.objects.count(), 1)

    def test_it_is_not_offered_to_roles_without_personal_data(self):
        for user in (self.analyst, self.marketer, self.outsider):
            self.client.force_login(user)
            self.assertEqual(self.client.get("/customers/new/").status_code, 403)


class InteractionEntryTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.customer = make_customer("Camille", "Martin")
        make_touchpoint("lille-phone", kind="phone_reception")

    def post(self, **fields):
        data = {
            "touchpoint": "lille-phone",
            "channel": "phone",
            "direction": "inbound",
            "kind": "call",
            "outcome": "long_wait",
            "occurred_at": "2026-03-01T10:30",
            "note": "Waited ten minutes",
            **fields,
        }
        return self.client.post(f"/customers/{self.customer.pk}/interactions/", data)

    def test_an_agent_records_a_call_on_the_customer_page(self):
        self.client.force_login(self.agent)
        response = self.post()
        self.assertRedirects(response, f"/customers/{self.customer.pk}/")
        interaction = Interaction.objects.get()
        self.assertEqual(interaction.customer, self.customer)
        self.assertEqual((interaction.kind, interaction.outcome), ("call", "long_wait"))
        self.assertEqual(interaction.source, "console")
        self.assertEqual(
            timezone.localtime(interaction.occurred_at).strftime("%Y-%m-%d %H:%M"),
            "2026-03-01 10:30",
        )

    def test_it_shows_errors_next_to_the_fields_and_writes_nothing(self):
        self.client.force_login(self.agent)
        response = self.post(touchpoint="nowhere", outcome="Long Wait!", occurred_at="")
        self.assertEqual(response.status_code, 422)
        errors = response.context["interaction_form"].errors
        self.assertEqual(set(errors), {"touchpoint", "outcome", "occurred_at"})
        self.assertFalse(Interaction.objects.exists())

    def test_roles_that_cannot_record_interactions_get_403(self):
        for user in (self.analyst, self.marketer, self.auditor, self.outsider):
            self.client.force_login(user)
            self.assertEqual(self.post().status_code, 403)
        self.assertFalse(Interaction.objects.exists())
