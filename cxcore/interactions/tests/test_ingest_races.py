"""Ingestion under a concurrent writer, and the API's answer to the unexpected."""

from unittest import mock

from django.db import IntegrityError, transaction

from cxcore.customers import services as customer_services
from cxcore.customers.models import ContactPoint, Customer
from cxcore.customers.tests.factories import add_contact, make_customer
from cxcore.db import insert_rows
from cxcore.interactions.ingest import References, RowValidator
from cxcore.interactions.models import Interaction
from cxcore.interactions.services import interactions_ingest
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase


class IngestRaceTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        make_touchpoint("store-visit")
        cls.camille = make_customer("Camille", "Martin")
        add_contact(cls.camille, "email", "camille@example.fr")

    def row(self, **fields):
        raw = {
            "occurred_at": "2026-03-01T10:00:00+01:00",
            "touchpoint": "store-visit",
            "channel": "store",
            **fields,
        }
        row, errors = RowValidator(References.load(), default_source="test").validate(raw)
        assert not errors, errors
        return row

    def test_it_turns_a_duplicate_key_during_copy_into_an_integrity_error(self):
        point = ContactPoint.objects.get(value="camille@example.fr")
        with self.assertRaises(IntegrityError), transaction.atomic():
            insert_rows(
                ContactPoint,
                ["customer_id", "kind", "system", "value", "verified", "source", "created_at"],
                [
                    (
                        self.camille.pk,
                        "email",
                        "",
                        "camille@example.fr",
                        False,
                        "t",
                        point.created_at,
                    )
                ],
            )

    def test_it_retries_a_chunk_that_lost_a_race_for_a_new_identity(self):
        # The first read misses Camille's email, as if another writer added it a moment later.
        real_owners = customer_services._identity_owners
        calls = []

        def stale_then_fresh(keys):
            calls.append(keys)
            return {} if len(calls) == 1 else real_owners(keys)

        with mock.patch.object(customer_services, "_identity_owners", stale_then_fresh):
            [result] = interactions_ingest(
                [self.row(email="camille@example.fr", external_id="r-1")],
                actor=Actor(via="test"),
            )
        self.assertEqual(result.status, "created")
        self.assertEqual(result.customer_id, self.camille.pk)
        self.assertEqual(len(calls), 2)
        self.assertEqual(Customer.objects.count(), 1)
        self.assertEqual(Interaction.objects.get().customer_id, self.camille.pk)

    def test_it_answers_an_unexpected_failure_with_json_and_no_details(self):
        self.client.force_login(self.manager)
        with mock.patch(
            "cxcore.interactions.api.interactions_ingest", side_effect=RuntimeError("secret detail")
        ):
            response = self.client.post(
                "/api/interactions",
                {
                    "occurred_at": "2026-03-01T10:00:00+01:00",
                    "touchpoint": "store-visit",
                    "channel": "store",
                    "email": "camille@example.fr",
                },
                content_type="application/json",
            )
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response.json()["error"]["code"], "server_error")
        self.assertNotIn("secret detail", response.content.decode())

    def test_it_refuses_an_oversized_body_with_a_clear_json_error(self):
        self.client.force_login(self.manager)
        with self.settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
            response = self.client.post(
                "/api/interactions/batch",
                {"items": [{"note": "x" * 2000}]},
                content_type="application/json",
            )
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["error"]["code"], "request_too_large")
