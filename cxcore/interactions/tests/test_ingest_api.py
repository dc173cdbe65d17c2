"""POST /api/interactions and /api/interactions/batch: creation, replays, errors, identities."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import time_machine

from cxcore.api.models import IdempotencyRecord
from cxcore.api.services import api_token_create
from cxcore.customers.models import ContactPoint, Customer, IdentityConflict
from cxcore.customers.services import customer_merge
from cxcore.customers.tests.factories import make_customer
from cxcore.interactions.models import Interaction
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def interaction_body(**overrides) -> dict:
    body = {
        "occurred_at": "2026-03-01T14:30:00+01:00",
        "touchpoint": "store-visit",
        "channel": "store",
        "email": "Marie.Curie@Example.org",
        "source": "shop",
        "external_id": "visit-1",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


@time_machine.travel(NOW, tick=False)
class IngestApiTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.touchpoint = make_touchpoint("store-visit")
        _token, cls.secret = api_token_create(
            actor=Actor(user=cls.manager), name="shop", scope="write"
        )

    def post(self, path: str, body, *, key: str | None = None):
        headers = {"Authorization": f"Bearer {self.secret}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(
            path, data=json.dumps(body), content_type="application/json", headers=headers
        )

    def assert_error(self, response, code: str, field: str) -> dict:
        """The single-item error shape: {"error": {"code", "message", "field", "errors"}}."""
        self.assertEqual(response.status_code, 422, response.content)
        error = response.json()["error"]
        self.assertEqual(error["code"], code)
        self.assertEqual(error["field"], field)
        self.assertTrue(error["message"])
        self.assertIn({"field": field, "code": code, "message": error["message"]}, error["errors"])
        return error


class SingleIngestTests(IngestApiTestCase):
    def test_it_creates_the_interaction_and_its_customer(self):
        response = self.post("/api/interactions", interaction_body(note="Asked about sizes"))

        self.assertEqual(response.status_code, 201)
        body = response.json()
        self.assertEqual(body["status"], "created")
        self.assertTrue(body["customer_created"])
        self.assertFalse(body["identity_conflict"])
        interaction = Interaction.objects.get()
        self.assertEqual(body["id"], interaction.pk)
        self.assertEqual(body["customer_id"], interaction.customer_id)
        self.assertEqual(interaction.touchpoint, self.touchpoint)
        self.assertEqual(interaction.channel, "store")
        self.assertEqual(interaction.occurred_at, datetime(2026, 3, 1, 13, 30, tzinfo=UTC))
        self.assertEqual((interaction.source, interaction.external_id), ("shop", "visit-1"))
        self.assertEqual(interaction.note, "Asked about sizes")
        point = ContactPoint.objects.get(customer_id=interaction.customer_id)
        self.assertEqual((point.kind, point.value), ("email", "marie.curie@example.org"))

    def test_it_answers_a_replay_with_the_existing_interaction(self):
        first = self.post("/api/interactions", interaction_body()).json()

        response = self.post("/api/interactions", interaction_body(note="sent twice"))

        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(body["status"], "existing")
        self.assertEqual(body["id"], first["id"])
        self.assertEqual(body["customer_id"], first["customer_id"])
        self.assertEqual(Interaction.objects.count(), 1)
        self.assertEqual(Interaction.objects.get().note, "")
        self.assertEqual(Customer.objects.count(), 1)

    def test_it_treats_rows_without_external_id_as_the_same_when_their_content_is(self):
        first = self.post("/api/interactions", interaction_body(external_id=None))
        again = self.post("/api/interactions", interaction_body(external_id=None))

        self.assertEqual(first.status_code, 201)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertTrue(Interaction.objects.get().external_id.startswith("fp:"))

    def test_it_replays_the_stored_answer_for_the_same_idempotency_key(self):
        first = self.post("/api/interactions", interaction_body(), key="retry-1")

        again = self.post("/api/interactions", interaction_body(), key="retry-1")

        # The stored 201 comes back as it was, rather than a fresh "existing" answer.
        self.assertEqual(again.status_code, 201)
        self.assertEqual(again.json(), first.json())
        self.assertEqual(Interaction.objects.count(), 1)
        self.assertEqual(Customer.objects.count(), 1)
        record = IdempotencyRecord.objects.get()
        self.assertEqual(
            (record.user, record.key, record.status_code), (self.manager, "retry-1", 201)
        )

    def test_it_refuses_an_idempotency_key_reused_for_another_body(self):
        self.post("/api/interactions", interaction_body(), key="retry-1")

        response = self.post(
            "/api/interactions", interaction_body(external_id="visit-2"), key="retry-1"
        )

        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["code"], "idempotency_key_reused")
        self.assertEqual(response.json()["error"]["field"], "Idempotency-Key")
        self.assertEqual(
            list(Interaction.objects.values_list("external_id", flat=True)), ["visit-1"]
        )

    def test_it_refuses_an_idempotency_key_reused_on_another_endpoint(self):
        self.post("/api/interactions", interaction_body(), key="retry-1")

        response = self.post(
            "/api/interactions/batch", {"items": [interaction_body(external_id="b")]}, key="retry-1"
        )

        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["code"], "idempotency_key_reused")
        self.assertEqual(Interaction.objects.count(), 1)

    def test_it_keeps_idempotency_keys_apart_between_users(self):
        _token, other_secret = api_token_create(
            actor=Actor(user=self.admin), name="crm", scope="write"
        )
        self.post("/api/interactions", interaction_body(), key="retry-1")

        response = self.client.post(
            "/api/interactions",
            data=json.dumps(interaction_body(external_id="visit-2")),
            content_type="application/json",
            headers={"Authorization": f"Bearer {other_secret}", "Idempotency-Key": "retry-1"},
        )

        self.assertEqual(response.status_code, 201)
        self.assertEqual(Interaction.objects.count(), 2)
        self.assertEqual(IdempotencyRecord.objects.filter(key="retry-1").count(), 2)

    def test_it_refuses_an_unknown_touchpoint(self):
        error = self.assert_error(
            self.post("/api/interactions", interaction_body(touchpoint="moon-base")),
            "unknown_touchpoint",
            "touchpoint",
        )
        self.assertIn("moon-base", error["message"])
        self.assertFalse(Interaction.objects.exists())
        self.assertFalse(Customer.objects.exists())

    def test_it_refuses_an_inactive_touchpoint(self):
        make_touchpoint("old-kiosk", is_active=False)
        self.assert_error(
            self.post("/api/interactions", interaction_body(touchpoint="old-kiosk")),
            "unknown_touchpoint",
            "touchpoint",
        )
        self.assertFalse(Interaction.objects.exists())

    def test_it_refuses_an_invalid_email(self):
        self.assert_error(
            self.post("/api/interactions", interaction_body(email="marie at example")),
            "invalid_email",
            "email",
        )
        self.assertFalse(Interaction.objects.exists())
        self.assertFalse(Customer.objects.exists())

    def test_it_refuses_an_invalid_phone(self):
        self.assert_error(
            self.post("/api/interactions", interaction_body(email=None, phone="12")),
            "invalid_phone",
            "phone",
        )
        self.assertFalse(Interaction.objects.exists())

    def test_it_refuses_a_date_without_time_zone(self):
        error = self.assert_error(
            self.post("/api/interactions", interaction_body(occurred_at="2026-03-01T14:30:00")),
            "naive_datetime",
            "occurred_at",
        )
        self.assertIn("+01:00", error["message"])
        self.assertFalse(Interaction.objects.exists())

    def test_it_refuses_a_date_that_is_not_iso_8601(self):
        self.assert_error(
            self.post("/api/interactions", interaction_body(occurred_at="last tuesday")),
            "invalid_datetime",
            "occurred_at",
        )
        self.assertFalse(Interaction.objects.exists())

    def test_it_refuses_a_date_in_the_future(self):
        self.assert_error(
            self.post("/api/interactions", interaction_body(occurred_at="2026-03-17T12:00:00Z")),
            "future_datetime",
            "occurred_at",
        )
        self.assertFalse(Interaction.objects.exists())

    def test_it_refuses_a_note_over_ten_thousand_characters(self):
        error = self.assert_error(
            self.post("/api/interactions", interaction_body(note="x" * 10_001)),
            "too_long",
            "note",
        )
        self.assertIn("10001", error["message"].replace(",", ""))
        self.assertFalse(Interaction.objects.exists())

    def test_it_accepts_a_note_of_exactly_ten_thousand_characters(self):
        response = self.post("/api/interactions", interaction_body(note="x" * 10_000))

        self.assertEqual(response.status_code, 201)
        self.assertEqual(len(Interaction.objects.get().note), 10_000)

    def test_it_refuses_metadata_over_ten_thousand_bytes(self):
        self.assert_error(
            self.post("/api/interactions", interaction_body(metadata={"basket": "é" * 5_000})),
            "too_long",
            "metadata",
        )
        self.assertFalse(Interaction.objects.exists())

    def test_it_keeps_metadata(self):
        self.post("/api/interactions", interaction_body(metadata={"basket": 42.5, "items": 3}))

        self.assertEqual(Interaction.objects.get().metadata, {"basket": 42.5, "items": 3})

    def test_it_refuses_a_row_that_does_not_say_who_the_customer_is(self):
        self.assert_error(
            self.post("/api/interactions", interaction_body(email=None)),
            "identity_missing",
            "customer",
        )
        self.assertFalse(Interaction.objects.exists())
        self.assertFalse(Customer.objects.exists())

    def test_it_refuses_an_unknown_channel(self):
        self.assert_error(
            self.post("/api/interactions", interaction_body(channel="pigeon")),
            "invalid_channel",
            "channel",
        )
        self.assertFalse(Interaction.objects.exists())

    def test_it_lists_every_problem_of_a_row(self):
        response = self.post(
            "/api/interactions", interaction_body(channel="pigeon", touchpoint="moon-base")
        )

        self.assertEqual(response.status_code, 422)
        codes = {(e["field"], e["code"]) for e in response.json()["error"]["errors"]}
        self.assertEqual(
            codes, {("touchpoint", "unknown_touchpoint"), ("channel", "invalid_channel")}
        )

    def test_it_refuses_a_body_that_misses_required_fields(self):
        response = self.post("/api/interactions", {"email": "a@example.org"})

        self.assertEqual(response.status_code, 422)
        error = response.json()["error"]
        self.assertEqual(set(error), {"code", "message", "field", "errors"})
        fields = {e["field"] for e in error["errors"]}
        self.assertEqual(fields, {"occurred_at", "touchpoint", "channel"})
        self.assertFalse(Interaction.objects.exists())

    def test_it_refreshes_the_customer_scores_after_the_write(self):
        with self.captureOnCommitCallbacks(execute=True):
            response = self.post("/api/interactions", interaction_body())

        customer = Customer.objects.get(pk=response.json()["customer_id"])
        self.assertEqual(customer.lifecycle_stage, "new")
        self.assertEqual(customer.last_interaction_at, datetime(2026, 3, 1, 13, 30, tzinfo=UTC))
        self.assertGreater(customer.intensity, 0)


class IdentityResolutionTests(IngestApiTestCase):
    def test_it_attaches_a_row_to_the_customer_owning_its_email(self):
        marie = make_customer("Marie", "Curie", email="marie.curie@example.org")

        response = self.post("/api/interactions", interaction_body(email="MARIE.CURIE@example.org"))

        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["customer_id"], marie.pk)
        self.assertFalse(response.json()["customer_created"])
        self.assertEqual(Customer.objects.count(), 1)
        self.assertEqual(Interaction.objects.get().customer, marie)

    def test_it_adds_the_new_identities_of_a_row_to_its_customer(self):
        marie = make_customer("Marie", "Curie", email="marie.curie@example.org")

        self.post("/api/interactions", interaction_body(phone="06 12 34 56 78"))

        self.assertEqual(
            set(marie.contact_points.values_list("kind", "value")),
            {("email", "marie.curie@example.org"), ("phone", "+33612345678")},
        )

    def test_it_opens_a_conflict_when_email_and_phone_belong_to_two_customers(self):
        by_email = make_customer("Marie", "Curie", email="marie.curie@example.org")
        by_phone = make_customer("Pierre", "Curie", phone="+33612345678")

        response = self.post(
            "/api/interactions",
            interaction_body(email="marie.curie@example.org", phone="06 12 34 56 78"),
        )

        self.assertEqual(response.status_code, 201)
        body = response.json()
        self.assertTrue(body["identity_conflict"])
        # The email is the more specific identity: the row goes to its owner.
        self.assertEqual(body["customer_id"], by_email.pk)
        self.assertEqual(Interaction.objects.get().customer, by_email)
        conflict = IdentityConflict.objects.get()
        self.assertEqual(
            (conflict.customer, conflict.other_customer, conflict.kind, conflict.value),
            (by_email, by_phone, "phone", "+33612345678"),
        )
        self.assertEqual(conflict.status, "open")
        # Nobody is merged blindly, and the phone stays with its owner.
        for customer in (by_email, by_phone):
            customer.refresh_from_db()
            self.assertIsNone(customer.merged_into)
        self.assertEqual(ContactPoint.objects.get(kind="phone").customer, by_phone)
        self.assertEqual(Customer.objects.count(), 2)

    def test_it_attaches_a_row_naming_a_customer_reference(self):
        marie = make_customer("Marie", "Curie")

        response = self.post(
            "/api/interactions", interaction_body(email=None, customer=marie.reference)
        )

        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["customer_id"], marie.pk)
        self.assertEqual(Interaction.objects.get().customer, marie)
        self.assertEqual(Customer.objects.count(), 1)

    def test_it_attaches_a_row_naming_a_merged_customer_to_the_survivor(self):
        survivor = make_customer("Marie", "Curie")
        merged = make_customer("Marie", "Sklodowska")
        customer_merge(actor=Actor(user=self.admin), survivor=survivor, merged=merged)

        response = self.post(
            "/api/interactions", interaction_body(email=None, customer=merged.reference)
        )

        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["customer_id"], survivor.pk)
        self.assertEqual(Interaction.objects.get().customer, survivor)

    def test_it_refuses_an_unknown_customer_reference(self):
        make_customer("Marie", "Curie")

        self.assert_error(
            self.post("/api/interactions", interaction_body(email=None, customer="C9999999")),
            "unknown_customer",
            "customer",
        )
        self.assertFalse(Interaction.objects.exists())
        self.assertEqual(Customer.objects.count(), 1)


class BatchIngestTests(IngestApiTestCase):
    def test_it_gives_each_item_of_a_mixed_batch_its_own_result(self):
        items = [
            interaction_body(external_id="a"),
            interaction_body(external_id="b", channel="pigeon"),
            interaction_body(external_id="c", email="paul@example.org"),
            interaction_body(external_id="d", email="not-an-email"),
        ]

        response = self.post("/api/interactions/batch", {"items": items})

        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual((body["created"], body["existing"], body["errors"]), (2, 0, 2))
        results = body["results"]
        self.assertEqual([r["index"] for r in results], [0, 1, 2, 3])
        self.assertEqual([r["status"] for r in results], ["created", "error", "created", "error"])
        self.assertEqual(results[1]["errors"][0]["code"], "invalid_channel")
        self.assertEqual(results[3]["errors"][0]["code"], "invalid_email")
        self.assertEqual(set(Interaction.objects.values_list("external_id", flat=True)), {"a", "c"})
        self.assertEqual(
            set(ContactPoint.objects.values_list("value", flat=True)),
            {"marie.curie@example.org", "paul@example.org"},
        )
        self.assertEqual(
            {r["id"] for r in results if r["status"] == "created"},
            set(Interaction.objects.values_list("pk", flat=True)),
        )

    def test_it_reports_items_already_recorded_as_existing(self):
        first = self.post("/api/interactions", interaction_body(external_id="a")).json()

        response = self.post(
            "/api/interactions/batch",
            {"items": [interaction_body(external_id="a"), interaction_body(external_id="b")]},
        )

        results = response.json()["results"]
        self.assertEqual([r["status"] for r in results], ["existing", "created"])
        self.assertEqual(results[0]["id"], first["id"])
        self.assertEqual(Interaction.objects.count(), 2)

    def test_it_refuses_a_duplicate_inside_one_batch(self):
        items = [interaction_body(external_id="a"), interaction_body(external_id="a", note="again")]

        response = self.post("/api/interactions/batch", {"items": items})

        self.assertEqual(response.status_code, 200)
        results = response.json()["results"]
        self.assertEqual(results[0]["status"], "created")
        self.assertEqual(results[1]["status"], "error")
        self.assertEqual(results[1]["errors"][0]["code"], "duplicate_in_batch")
        self.assertIn("0", results[1]["errors"][0]["message"])
        self.assertEqual(Interaction.objects.get().note, "")

    def test_it_puts_items_sharing_a_new_identity_on_one_new_customer(self):
        items = [
            interaction_body(external_id="a", email="new@example.org"),
            interaction_body(external_id="b", email="NEW@example.org"),
        ]

        results = self.post("/api/interactions/batch", {"items": items}).json()["results"]

        self.assertEqual(results[0]["customer_id"], results[1]["customer_id"])
        self.assertEqual(Customer.objects.count(), 1)
        self.assertEqual(ContactPoint.objects.count(), 1)

    def test_it_refuses_a_batch_of_more_than_ten_thousand_items(self):
        items = [interaction_body(external_id=f"e{n}") for n in range(10_001)]

        response = self.post("/api/interactions/batch", {"items": items})

        self.assertEqual(response.status_code, 422)
        error = response.json()["error"]
        self.assertEqual(error["field"], "items")
        self.assertFalse(Interaction.objects.exists())
        self.assertFalse(Customer.objects.exists())

    def test_it_refuses_an_empty_batch(self):
        response = self.post("/api/interactions/batch", {"items": []})

        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["code"], "empty_batch")
        self.assertEqual(response.json()["error"]["field"], "items")

    def test_it_refuses_a_batch_holding_something_other_than_objects(self):
        response = self.post("/api/interactions/batch", {"items": ["hello", interaction_body()]})

        self.assertEqual(response.status_code, 422)
        self.assertFalse(Interaction.objects.exists())

    def test_it_replays_a_batch_for_the_same_idempotency_key(self):
        items = [interaction_body(external_id="a"), interaction_body(external_id="b")]
        first = self.post("/api/interactions/batch", {"items": items}, key="batch-1")

        again = self.post("/api/interactions/batch", {"items": items}, key="batch-1")

        self.assertEqual(again.json(), first.json())
        self.assertEqual(again.json()["created"], 2)
        self.assertEqual(Interaction.objects.count(), 2)
