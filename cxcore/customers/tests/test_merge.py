"""Merging two customers: what moves, the tombstone, the record of it, and who may do it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from django.core.exceptions import ValidationError

from cxcore.api.services import api_token_create
from cxcore.customers.models import (
    AuditEntry,
    Customer,
    CustomerMerge,
    DeclaredAttribute,
    IdentityConflict,
)
from cxcore.customers.services import customer_merge
from cxcore.customers.tests.factories import add_contact, declare, make_customer
from cxcore.interactions.models import Interaction
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
class MergeTestCase(BaseTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("store-visit")
        self.survivor = make_customer("Marie", "Curie", email="marie@example.org")
        self.merged = make_customer(
            "", "Sklodowska", email="m.sklodowska@example.org", phone="06 12 34 56 78"
        )
        self.kept_interaction = make_interaction(
            self.survivor, self.touchpoint, NOW - timedelta(days=200)
        )
        self.moved_interactions = [
            make_interaction(self.merged, self.touchpoint, NOW - timedelta(days=d)) for d in (3, 5)
        ]

    def merge(self, **kwargs):
        return customer_merge(
            actor=Actor(user=self.admin, via="console"),
            survivor=self.survivor,
            merged=self.merged,
            **kwargs,
        )

    def assert_not_merged(self):
        self.merged.refresh_from_db()
        self.survivor.refresh_from_db()
        self.assertIsNone(self.merged.merged_into)
        self.assertIsNone(self.survivor.merged_into)
        self.assertFalse(CustomerMerge.objects.exists())
        self.assertEqual(self.merged.interactions.count(), 2)
        self.assertEqual(self.merged.contact_points.count(), 2)
        self.assertFalse(AuditEntry.objects.filter(action="merge").exists())


class MergeServiceTests(MergeTestCase):
    def test_it_moves_contact_points_and_interactions_to_the_survivor(self):
        self.merge()

        self.assertEqual(
            set(self.survivor.contact_points.values_list("kind", "value")),
            {
                ("email", "marie@example.org"),
                ("email", "m.sklodowska@example.org"),
                ("phone", "+33612345678"),
            },
        )
        self.assertFalse(self.merged.contact_points.exists())
        self.assertEqual(self.survivor.interactions.count(), 3)
        self.assertFalse(Interaction.objects.filter(customer=self.merged).exists())

    def test_it_keeps_the_latest_declaration_of_each_attribute(self):
        declare(self.survivor, "favourite_store", "Lyon", declared_at=NOW - timedelta(days=10))
        declare(self.survivor, "shoe_size", "38", declared_at=NOW - timedelta(days=1))
        declare(self.merged, "favourite_store", "Paris", declared_at=NOW - timedelta(days=2))
        declare(self.merged, "shoe_size", "39", declared_at=NOW - timedelta(days=20))
        declare(self.merged, "newsletter_topic", "gardening")

        merge = self.merge()

        self.assertEqual(
            dict(self.survivor.attributes.values_list("key", "value")),
            {"favourite_store": "Paris", "shoe_size": "38", "newsletter_topic": "gardening"},
        )
        self.assertFalse(DeclaredAttribute.objects.filter(customer=self.merged).exists())
        self.assertEqual(merge.moved["attributes"], 2)

    def test_it_drops_a_postal_address_both_customers_share(self):
        add_contact(self.survivor, "postal", "1 rue de la Paix\n75002 Paris")
        add_contact(self.merged, "postal", "1 rue de la Paix\n75002 Paris")

        merge = self.merge()

        self.assertEqual(self.survivor.contact_points.filter(kind="postal").count(), 1)
        self.assertEqual(merge.moved["contact_points"], 2)

    def test_it_leaves_the_merged_customer_as_a_tombstone(self):
        self.merge()

        self.merged.refresh_from_db()
        self.assertEqual(self.merged.merged_into, self.survivor)
        self.assertEqual(self.merged.last_name, "Sklodowska")
        self.assertNotIn(self.merged, Customer.objects.live())
        self.assertIn(self.survivor, Customer.objects.live())

    def test_it_fills_the_survivors_empty_names_from_the_merged_customer(self):
        self.survivor.last_name = ""
        self.survivor.save()

        self.merge()

        self.survivor.refresh_from_db()
        self.assertEqual(
            (self.survivor.first_name, self.survivor.last_name), ("Marie", "Sklodowska")
        )

    def test_it_records_the_merge_and_audits_both_customers(self):
        merge = self.merge(reason="Same person, maiden name")

        self.assertEqual(CustomerMerge.objects.get(), merge)
        self.assertEqual((merge.survivor, merge.merged), (self.survivor, self.merged))
        self.assertEqual(merge.merged_by, self.admin)
        self.assertEqual(merge.merged_at, NOW)
        self.assertEqual(merge.reason, "Same person, maiden name")
        self.assertEqual(merge.moved, {"contact_points": 2, "attributes": 0, "interactions": 2})
        entries = AuditEntry.objects.filter(action="merge").order_by("customer_id")
        self.assertEqual(
            {(e.customer_id, e.changes["role"]) for e in entries},
            {(self.survivor.pk, "survivor"), (self.merged.pk, "merged")},
        )
        for entry in entries:
            self.assertEqual((entry.actor, entry.via), (self.admin, "console"))
            self.assertEqual(entry.changes["survivor"], self.survivor.pk)
            self.assertEqual(entry.changes["merged"], self.merged.pk)

    def test_it_settles_open_conflicts_between_the_two(self):
        conflict = IdentityConflict.objects.create(
            customer=self.survivor,
            other_customer=self.merged,
            kind="phone",
            value="+33612345678",
        )

        self.merge()

        conflict.refresh_from_db()
        self.assertEqual(conflict.status, "merged")
        self.assertEqual(conflict.resolved_by, self.admin)
        self.assertEqual(conflict.resolved_at, NOW)

    def test_it_points_the_merged_customers_other_conflicts_at_the_survivor(self):
        third = make_customer("Pierre", "Curie")
        conflict = IdentityConflict.objects.create(
            customer=third, other_customer=self.merged, kind="email", value="x@example.org"
        )

        self.merge()

        conflict.refresh_from_db()
        self.assertEqual(conflict.other_customer, self.survivor)
        self.assertEqual(conflict.status, "open")

    def test_it_refreshes_the_survivors_scores(self):
        self.merge()

        self.survivor.refresh_from_db()
        self.assertEqual(self.survivor.last_interaction_at, NOW - timedelta(days=3))
        self.assertEqual(self.survivor.first_interaction_at, NOW - timedelta(days=200))
        self.assertEqual(self.survivor.lifecycle_stage, "active")

    def test_it_refuses_to_merge_a_customer_with_itself(self):
        with self.assertRaises(ValidationError) as caught:
            customer_merge(
                actor=Actor(user=self.admin), survivor=self.survivor, merged=self.survivor
            )

        self.assertIn("other", caught.exception.message_dict)
        self.survivor.refresh_from_db()
        self.assertIsNone(self.survivor.merged_into)
        self.assertFalse(CustomerMerge.objects.exists())

    def test_it_refuses_to_merge_an_already_merged_customer(self):
        third = make_customer("Pierre", "Curie")
        customer_merge(actor=Actor(user=self.admin), survivor=third, merged=self.merged)

        with self.assertRaises(ValidationError) as caught:
            self.merge()

        self.assertIn(self.merged.reference, caught.exception.message_dict["other"][0])
        self.merged.refresh_from_db()
        self.assertEqual(self.merged.merged_into, third)
        self.assertEqual(CustomerMerge.objects.count(), 1)
        self.assertEqual(third.interactions.count(), 2)

    def test_it_refuses_to_merge_into_an_already_merged_customer(self):
        third = make_customer("Pierre", "Curie")
        customer_merge(actor=Actor(user=self.admin), survivor=third, merged=self.survivor)

        with self.assertRaises(ValidationError):
            self.merge()

        self.merged.refresh_from_db()
        self.assertIsNone(self.merged.merged_into)
        self.assertEqual(self.merged.interactions.count(), 2)


class MergeTimelineTests(MergeTestCase):
    def test_it_shows_the_merge_on_both_customer_pages(self):
        self.merge()
        self.client.force_login(self.manager)

        survivor_page = self.client.get(f"/customers/{self.survivor.pk}/")
        merged_page = self.client.get(f"/customers/{self.merged.pk}/")

        self.assertEqual(survivor_page.status_code, 200)
        kinds = [event.kind for event in survivor_page.context["timeline"]]
        self.assertEqual(kinds.count("merge_in"), 1)
        self.assertEqual(kinds.count("interaction"), 3)
        self.assertContains(survivor_page, self.merged.reference)
        self.assertEqual(merged_page.status_code, 200)
        self.assertEqual([e.kind for e in merged_page.context["timeline"]], ["merge_out"])
        self.assertContains(merged_page, self.survivor.reference)
        self.assertContains(merged_page, f'href="/customers/{self.survivor.pk}/"')

    def test_it_shows_the_merge_on_both_api_timelines(self):
        merge = self.merge()
        self.client.force_login(self.manager)

        survivor = self.client.get(f"/api/customers/{self.survivor.pk}/timeline").json()
        merged = self.client.get(f"/api/customers/{self.merged.pk}/timeline").json()

        expected = {
            "survivor": self.survivor.pk,
            "merged": self.merged.pk,
            "moved": merge.moved,
        }
        merge_in = [e for e in survivor["events"] if e["kind"] == "merge_in"]
        self.assertEqual(len(merge_in), 1)
        self.assertEqual({k: merge_in[0][k] for k in expected}, expected)
        self.assertEqual(len([e for e in survivor["events"] if e["kind"] == "interaction"]), 3)
        self.assertEqual([e["kind"] for e in merged["events"]], ["merge_out"])
        self.assertEqual({k: merged["events"][0][k] for k in expected}, expected)


class ConsoleMergeTests(MergeTestCase):
    def test_it_merges_by_reference_from_the_customer_page(self):
        self.client.force_login(self.manager)

        response = self.client.post(
            f"/customers/{self.survivor.pk}/merge/",
            {"other": self.merged.reference.lower(), "reason": "duplicate"},
        )

        self.assertRedirects(response, f"/customers/{self.survivor.pk}/")
        self.merged.refresh_from_db()
        self.assertEqual(self.merged.merged_into, self.survivor)
        merge = CustomerMerge.objects.get()
        self.assertEqual((merge.merged_by, merge.reason), (self.manager, "duplicate"))
        self.assertEqual(self.survivor.interactions.count(), 3)
        self.assertEqual(AuditEntry.objects.filter(action="merge", via="console").count(), 2)

    def test_it_says_when_no_customer_has_the_reference(self):
        self.client.force_login(self.manager)

        response = self.client.post(f"/customers/{self.survivor.pk}/merge/", {"other": "C9999999"})

        self.assertEqual(response.status_code, 422)
        self.assertTrue(response.context["merge_form"].errors["other"])
        self.assert_not_merged()

    def test_it_says_when_the_reference_is_not_one(self):
        self.client.force_login(self.manager)

        response = self.client.post(f"/customers/{self.survivor.pk}/merge/", {"other": "Marie"})

        self.assertEqual(response.status_code, 422)
        self.assertTrue(response.context["merge_form"].errors["other"])
        self.assert_not_merged()

    def test_it_shows_why_a_merge_with_itself_is_refused(self):
        self.client.force_login(self.manager)

        response = self.client.post(
            f"/customers/{self.survivor.pk}/merge/", {"other": self.survivor.reference}
        )

        self.assertEqual(response.status_code, 422)
        message = response.context["merge_form"].errors["other"][0]
        self.assertContains(response, message, status_code=422)
        self.assert_not_merged()

    def test_it_refuses_agents_analysts_and_outsiders(self):
        for user in (self.agent, self.analyst, self.marketer, self.auditor, self.outsider):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                response = self.client.post(
                    f"/customers/{self.survivor.pk}/merge/", {"other": self.merged.reference}
                )
                self.assertEqual(response.status_code, 403)
        self.assert_not_merged()


class ApiMergeTests(MergeTestCase):
    def post_merge(self, user, survivor, other, *, scope="write"):
        _token, secret = api_token_create(actor=Actor(user=user), name="t", scope=scope)
        return self.client.post(
            f"/api/customers/{survivor.pk}/merge",
            data=json.dumps({"other": other.pk, "reason": "duplicate"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    def test_it_merges_through_the_api(self):
        response = self.post_merge(self.manager, self.survivor, self.merged)

        self.assertEqual(response.status_code, 200)
        merge = CustomerMerge.objects.get()
        self.assertEqual(
            response.json(),
            {
                "merge_id": merge.pk,
                "survivor": self.survivor.pk,
                "merged": self.merged.pk,
                "moved": {"contact_points": 2, "attributes": 0, "interactions": 2},
            },
        )
        self.merged.refresh_from_db()
        self.assertEqual(self.merged.merged_into, self.survivor)
        self.assertEqual(AuditEntry.objects.filter(action="merge", via="api").count(), 2)

    def test_it_answers_422_for_an_already_merged_customer(self):
        third = make_customer("Pierre", "Curie")
        customer_merge(actor=Actor(user=self.admin), survivor=third, merged=self.merged)

        response = self.post_merge(self.manager, self.survivor, self.merged)

        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["field"], "other")
        self.assertEqual(CustomerMerge.objects.count(), 1)

    def test_it_answers_422_for_a_merge_with_itself(self):
        response = self.post_merge(self.manager, self.survivor, self.survivor)

        self.assertEqual(response.status_code, 422)
        self.assert_not_merged()

    def test_it_answers_404_for_an_unknown_customer(self):
        response = self.post_merge(self.manager, self.survivor, Customer(pk=999_999_999))

        self.assertEqual(response.status_code, 404)
        self.assert_not_merged()

    def test_it_refuses_a_read_only_token(self):
        response = self.post_merge(self.manager, self.survivor, self.merged, scope="read")

        self.assertEqual(response.status_code, 403)
        self.assert_not_merged()

    def test_it_refuses_agents_analysts_and_outsiders(self):
        for user in (self.agent, self.analyst, self.marketer, self.auditor, self.outsider):
            with self.subTest(user=user.username):
                response = self.post_merge(user, self.survivor, self.merged)
                self.assertEqual(response.status_code, 403)
                self.assertEqual(response.json()["error"]["code"], "forbidden")
        self.assert_not_merged()
