"""API tokens: bearer authentication, scopes, revocation, expiry, the console page, OpenAPI."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import time_machine

from cxcore.api.models import ApiToken
from cxcore.api.services import api_token_authenticate, api_token_create, api_token_revoke
from cxcore.customers.models import AuditEntry, Customer
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
SECRET = re.compile(r"cx_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@time_machine.travel(NOW, tick=False)
class TokenAuthTests(BaseTestCase):
    def create_customer(self, secret: str):
        return self.client.post(
            "/api/customers",
            data=json.dumps({"last_name": "Curie"}),
            content_type="application/json",
            headers=bearer(secret),
        )

    def test_it_lets_a_read_token_read(self):
        _token, secret = api_token_create(actor=Actor(user=self.manager), name="bi", scope="read")

        response = self.client.get("/api/customers", headers=bearer(secret))

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["count"], 0)

    def test_it_refuses_writes_to_a_read_token(self):
        _token, secret = api_token_create(actor=Actor(user=self.manager), name="bi", scope="read")

        response = self.create_customer(secret)

        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["error"]["code"], "forbidden")
        self.assertIn("read-only", response.json()["error"]["message"])
        self.assertFalse(Customer.objects.exists())

    def test_it_lets_a_write_token_write(self):
        _token, secret = api_token_create(actor=Actor(user=self.manager), name="crm", scope="write")

        response = self.create_customer(secret)

        self.assertEqual(response.status_code, 201)
        customer = Customer.objects.get()
        self.assertEqual(response.json()["id"], customer.pk)
        self.assertEqual(customer.last_name, "Curie")
        entry = AuditEntry.objects.get(action="create", customer_id=customer.pk)
        self.assertEqual((entry.actor, entry.via), (self.manager, "api"))

    def test_it_keeps_the_role_of_the_token_owner(self):
        _token, secret = api_token_create(actor=Actor(user=self.analyst), name="bi", scope="write")

        response = self.create_customer(secret)

        self.assertEqual(response.status_code, 403)
        self.assertFalse(Customer.objects.exists())

    def test_it_records_when_a_token_was_last_used(self):
        token, secret = api_token_create(actor=Actor(user=self.manager), name="bi")

        self.client.get("/api/customers", headers=bearer(secret))

        token.refresh_from_db()
        self.assertEqual(token.last_used_at, NOW)

    def test_it_refuses_a_revoked_token(self):
        token, secret = api_token_create(actor=Actor(user=self.manager), name="bi")
        api_token_revoke(actor=Actor(user=self.manager), token=token)

        response = self.client.get("/api/customers", headers=bearer(secret))

        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["error"]["code"], "unauthenticated")

    def test_it_refuses_an_expired_token(self):
        _token, secret = api_token_create(actor=Actor(user=self.manager), name="bi", days=30)

        with time_machine.travel(NOW + timedelta(days=30, seconds=1), tick=False):
            response = self.client.get("/api/customers", headers=bearer(secret))

        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["error"]["code"], "unauthenticated")

    def test_it_accepts_a_token_until_its_last_day(self):
        _token, secret = api_token_create(actor=Actor(user=self.manager), name="bi", days=30)

        with time_machine.travel(NOW + timedelta(days=29, hours=23), tick=False):
            response = self.client.get("/api/customers", headers=bearer(secret))

        self.assertEqual(response.status_code, 200)

    def test_it_refuses_the_token_of_a_deactivated_user(self):
        _token, secret = api_token_create(actor=Actor(user=self.manager), name="bi")
        self.manager.is_active = False
        self.manager.save()

        response = self.client.get("/api/customers", headers=bearer(secret))

        self.assertEqual(response.status_code, 401)

    def test_it_refuses_a_token_with_a_wrong_secret(self):
        token, secret = api_token_create(actor=Actor(user=self.manager), name="bi")

        response = self.client.get(
            "/api/customers", headers=bearer(f"cx_{token.prefix}_{'A' * 43}")
        )

        self.assertEqual(response.status_code, 401)
        self.assertIsNone(api_token_authenticate(secret[:-1]))

    def test_it_does_not_accept_a_token_in_the_query_string(self):
        _token, secret = api_token_create(actor=Actor(user=self.manager), name="bi")

        for name in ("token", "access_token", "api_key", "Authorization"):
            with self.subTest(parameter=name):
                response = self.client.get("/api/customers", {name: secret})
                self.assertEqual(response.status_code, 401)

    def test_it_answers_401_in_json_without_credentials(self):
        response = self.client.get("/api/customers")

        self.assertEqual(response.status_code, 401)
        self.assertEqual(response["Content-Type"], "application/json; charset=utf-8")
        error = response.json()["error"]
        self.assertEqual(error["code"], "unauthenticated")
        self.assertIn("Bearer", error["message"])

    def test_it_answers_401_to_a_write_without_credentials(self):
        response = self.client.post(
            "/api/customers", data=json.dumps({}), content_type="application/json"
        )

        self.assertEqual(response.status_code, 401)
        self.assertFalse(Customer.objects.exists())

    def test_it_keeps_only_the_hash_of_the_secret(self):
        token, secret = api_token_create(actor=Actor(user=self.manager), name="bi")

        prefix, _sep, private = secret.removeprefix("cx_").partition("_")
        token.refresh_from_db()
        self.assertEqual(token.prefix, prefix)
        self.assertEqual(token.secret_hash, hashlib.sha256(private.encode()).hexdigest())
        stored = json.dumps(
            [
                list(ApiToken.objects.values_list()),
                list(AuditEntry.objects.values_list("changes", flat=True)),
            ],
            default=str,
        )
        self.assertNotIn(private, stored)
        entry = AuditEntry.objects.get(action="create_token")
        self.assertEqual(entry.changes["prefix"], prefix)


@time_machine.travel(NOW, tick=False)
class TokenPageTests(BaseTestCase):
    def test_it_shows_a_new_secret_once(self):
        self.client.force_login(self.manager)

        response = self.client.post("/tokens/", {"name": "crm", "scope": "write", "days": 30})

        self.assertEqual(response.status_code, 200)
        secrets = SECRET.findall(response.content.decode())
        self.assertEqual(len(secrets), 1)
        token = api_token_authenticate(secrets[0])
        self.assertIsNotNone(token)
        self.assertEqual((token.user, token.name, token.scope), (self.manager, "crm", "write"))
        self.assertEqual(token.expires_at, NOW + timedelta(days=30))
        again = self.client.get("/tokens/")
        self.assertNotIn(secrets[0], again.content.decode())
        self.assertContains(again, "crm")

    def test_it_refuses_a_token_without_a_name(self):
        self.client.force_login(self.manager)

        response = self.client.post("/tokens/", {"name": "", "scope": "read", "days": 30})

        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors["name"])
        self.assertIsNone(response.context["secret"])
        self.assertFalse(ApiToken.objects.exists())

    def test_it_lists_only_the_users_own_tokens(self):
        api_token_create(actor=Actor(user=self.manager), name="maud-crm")
        api_token_create(actor=Actor(user=self.admin), name="alice-bi")
        self.client.force_login(self.admin)

        response = self.client.get("/tokens/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual([t.name for t in response.context["tokens"]], ["alice-bi"])
        self.assertContains(response, "alice-bi")
        self.assertNotContains(response, "maud-crm")

    def test_it_revokes_the_users_own_token(self):
        token, secret = api_token_create(actor=Actor(user=self.manager), name="crm")
        self.client.force_login(self.manager)

        response = self.client.post(f"/tokens/{token.pk}/revoke/")

        self.assertRedirects(response, "/tokens/")
        token.refresh_from_db()
        self.assertEqual(token.revoked_at, NOW)
        self.assertIsNone(api_token_authenticate(secret))
        self.assertTrue(
            AuditEntry.objects.filter(action="revoke_token", actor=self.manager).exists()
        )

    def test_it_answers_404_when_revoking_someone_elses_token(self):
        token, secret = api_token_create(actor=Actor(user=self.manager), name="crm")
        self.client.force_login(self.admin)

        response = self.client.post(f"/tokens/{token.pk}/revoke/")

        self.assertEqual(response.status_code, 404)
        token.refresh_from_db()
        self.assertIsNone(token.revoked_at)
        self.assertIsNotNone(api_token_authenticate(secret))

    def test_it_keeps_the_token_page_from_roles_without_api_access(self):
        for user in (self.agent, self.marketer, self.auditor, self.outsider):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get("/tokens/").status_code, 403)
                self.assertEqual(
                    self.client.post(
                        "/tokens/", {"name": "x", "scope": "write", "days": 1}
                    ).status_code,
                    403,
                )
        self.assertFalse(ApiToken.objects.exists())


class OpenApiTests(BaseTestCase):
    def test_it_serves_the_openapi_document(self):
        response = self.client.get("/api/openapi.json")

        self.assertEqual(response.status_code, 200)
        document = response.json()
        self.assertTrue(document["openapi"].startswith("3."))
        self.assertEqual(document["info"]["title"], "cxcore API")
        for path in ("/api/interactions", "/api/interactions/batch", "/api/customers"):
            self.assertIn(path, document["paths"])

    def test_it_serves_the_api_docs(self):
        response = self.client.get("/api/docs")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "/api/openapi.json")
