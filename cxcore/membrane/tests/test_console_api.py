"""Staff pages and API of the membrane: who sees what, and what each action records."""

import json
from datetime import UTC, datetime, timedelta

import time_machine

from cxcore.api.services import api_token_create
from cxcore.customers.models import AuditEntry, Segment
from cxcore.customers.tests.factories import add_contact, make_customer
from cxcore.lib.actor import Actor
from cxcore.membrane import services
from cxcore.membrane.models import (
    Campaign,
    ConsentEvent,
    ConsentState,
    Decision,
    Delivery,
    DoNotContact,
    Message,
    PolicySetting,
    Preference,
)
from cxcore.membrane.tests.factories import WORDING, grant, make_campaign, make_message
from cxcore.test import BaseTestCase

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@time_machine.travel(NOON, tick=False)
class MembraneApiTests(BaseTestCase):
    def setUp(self):
        self.customer = make_customer("Marie", "Curie", email="marie@example.org", language="fr")
        self.message = make_message()

    def call(self, user, method, path, body=None, *, scope="write"):
        _token, secret = api_token_create(actor=Actor(user=user), name="t", scope=scope)
        headers = {"Authorization": f"Bearer {secret}"}
        if method == "get":
            return self.client.get(path, headers=headers)
        return self.client.generic(
            method.upper(),
            path,
            json.dumps(body or {}),
            content_type="application/json",
            headers=headers,
        )

    def consent_body(self, **extra):
        body = {
            "source": "paper",
            "wording": {"text": WORDING, "language": "en", "version": "paper-2026"},
            "changes": [{"purpose": "marketing", "channel": "email", "granted": True}],
        }
        body.update(extra)
        return body

    def test_it_records_consents_with_their_proof(self):
        response = self.call(
            self.agent, "post", f"/api/customers/{self.customer.pk}/consents", self.consent_body()
        )
        self.assertEqual(response.status_code, 201, response.content)
        state = response.json()["states"][0]
        self.assertEqual(
            (state["purpose"], state["channel"], state["granted"]), ("marketing", "email", True)
        )
        event = ConsentEvent.objects.get()
        self.assertEqual(event.source, "paper")
        self.assertEqual(event.actor_label, "bob")
        self.assertEqual(event.wording.version, "paper-2026")
        self.assertEqual(response.json()["history"][0]["wording_sha256"], event.wording.sha256)

    def test_it_refuses_consent_without_source_or_wording(self):
        body = self.consent_body()
        del body["source"]
        response = self.call(
            self.agent, "post", f"/api/customers/{self.customer.pk}/consents", body
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("source", json.dumps(response.json()))
        body = self.consent_body(wording={"text": "", "language": "en"})
        response = self.call(
            self.agent, "post", f"/api/customers/{self.customer.pk}/consents", body
        )
        self.assertEqual(response.status_code, 422)
        self.assertFalse(ConsentEvent.objects.exists())

    def test_a_failed_batch_of_consents_writes_nothing(self):
        future = (NOON + timedelta(days=2)).isoformat()
        body = self.consent_body(
            changes=[
                {"purpose": "marketing", "channel": "email", "granted": True},
                {"purpose": "marketing", "channel": "sms", "granted": True, "occurred_at": future},
            ]
        )
        response = self.call(
            self.agent, "post", f"/api/customers/{self.customer.pk}/consents", body
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["errors"][0]["field"], "occurred_at")
        self.assertFalse(ConsentEvent.objects.exists())
        self.assertFalse(ConsentState.objects.exists())

    def test_marketers_and_outsiders_cannot_read_consents(self):
        for user in (self.marketer, self.analyst):
            response = self.call(user, "get", f"/api/customers/{self.customer.pk}/consents")
            self.assertEqual(response.status_code, 403)
        response = self.call(self.outsider, "get", f"/api/customers/{self.customer.pk}/consents")
        self.assertIn(response.status_code, (403, 404))

    def test_it_replaces_preferences_and_validates_them(self):
        path = f"/api/customers/{self.customer.pk}/preferences"
        body = {
            "channels": ["sms", "email"],
            "topics": ["Delivery", "price"],
            "max_per_week": 2,
            "purpose_caps": {"marketing": {"week": 1}},
            "quiet_start": "20:00",
            "quiet_end": "09:00",
            "quiet_days": [6],
        }
        response = self.call(self.agent, "put", path, body)
        self.assertEqual(response.status_code, 200, response.content)
        preference = Preference.objects.get(customer=self.customer)
        self.assertEqual(preference.channels, ["sms", "email"])
        self.assertEqual(preference.topics, ["delivery", "price"])
        self.assertEqual(preference.purpose_caps, {"marketing": {"week": 1}})
        response = self.call(self.agent, "put", path, {"quiet_start": "20:00"})
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["errors"][0]["field"], "quiet_end")
        preference.refresh_from_db()
        self.assertEqual(preference.max_per_week, 2)
        response = self.call(self.agent, "put", path, {"max_per_week": 500})
        self.assertEqual(response.status_code, 422)

    def test_a_single_decision_explains_itself_without_recording(self):
        grant(self.customer, "marketing", "email")
        response = self.call(
            self.analyst,
            "post",
            "/api/decisions",
            {"customer": self.customer.pk, "message": self.message.pk},
        )
        self.assertEqual(response.status_code, 403)  # analysts see aggregates only
        response = self.call(
            self.agent,
            "post",
            "/api/decisions",
            {"customer": self.customer.pk, "message": self.message.pk},
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(body["outcome"], "deliver")
        self.assertEqual(body["channel"], "email")
        codes = [r["code"] for r in body["reasons"]]
        self.assertIn("consent_given", codes)
        self.assertTrue(all(r["text"] for r in body["reasons"]))
        self.assertFalse(Decision.objects.exists())

    def test_sending_one_message_records_the_decision_and_delivers_it(self):
        grant(self.customer, "marketing", "email")
        with self.captureOnCommitCallbacks(execute=True):
            response = self.call(
                self.manager,
                "post",
                "/api/decisions",
                {"customer": self.customer.pk, "message": self.message.pk, "send": True},
            )
        self.assertEqual(response.status_code, 200, response.content)
        decision = Decision.objects.get(pk=response.json()["id"])
        self.assertEqual(decision.delivery.status, Delivery.Status.SENT)
        self.assertTrue(AuditEntry.objects.filter(action="message_decided").exists())

    def test_read_only_tokens_cannot_send(self):
        response = self.call(
            self.manager,
            "post",
            "/api/decisions",
            {"customer": self.customer.pk, "message": self.message.pk, "send": True},
            scope="read",
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Decision.objects.exists())

    def test_messages_and_campaigns_through_the_api(self):
        response = self.call(
            self.marketer,
            "post",
            "/api/messages",
            {
                "name": "Winter sale",
                "purpose": "marketing",
                "topics": ["price"],
                "variants": [
                    {"channel": "email", "language": "fr", "subject": "", "body": "Soldes"}
                ],
            },
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["errors"][0]["field"], "variants.0.subject")
        response = self.call(
            self.marketer,
            "post",
            "/api/messages",
            {
                "name": "Winter sale",
                "purpose": "marketing",
                "variants": [
                    {"channel": "email", "language": "fr", "subject": "Soldes", "body": "Soldes"}
                ],
            },
        )
        self.assertEqual(response.status_code, 201)
        segment = Segment.objects.create(name="All", rules=[])
        response = self.call(
            self.marketer,
            "post",
            "/api/campaigns",
            {
                "name": "Winter",
                "message": response.json()["id"],
                "segment": segment.pk,
                "scheduled_at": NOON.isoformat(),
            },
        )
        self.assertEqual(response.status_code, 201)
        campaign_id = response.json()["id"]
        response = self.call(self.marketer, "post", f"/api/campaigns/{campaign_id}/dry-run")
        self.assertEqual(response.json()["dry_run"]["total"], 1)
        self.assertFalse(Decision.objects.exists())
        with self.captureOnCommitCallbacks(execute=True):
            response = self.call(self.marketer, "post", f"/api/campaigns/{campaign_id}/start")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Decision.objects.filter(campaign_id=campaign_id).count(), 1)
        response = self.call(self.analyst, "post", f"/api/campaigns/{campaign_id}/start")
        self.assertEqual(response.status_code, 403)

    def test_only_admins_tune_policies_and_it_is_logged(self):
        response = self.call(self.manager, "patch", "/api/policies/marketing", {"week_cap": 1})
        self.assertEqual(response.status_code, 403)
        response = self.call(self.admin, "patch", "/api/policies/marketing", {"week_cap": -1})
        self.assertEqual(response.status_code, 422)
        response = self.call(self.admin, "patch", "/api/policies/marketing", {"week_cap": 1})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["purposes"]["marketing"]["week_cap"], 1)
        self.assertEqual(PolicySetting.objects.get(purpose="marketing").params, {"week_cap": 1})
        self.assertTrue(AuditEntry.objects.filter(action="policy_changed").exists())


@time_machine.travel(NOON, tick=False)
class MembraneConsoleTests(BaseTestCase):
    def setUp(self):
        self.customer = make_customer("Marie", "Curie", email="marie@example.org", language="fr")
        add_contact(self.customer, "postal", "1 rue de la Paix\n75002 Paris")
        add_contact(self.customer, "phone", "+33612345678")
        self.message = make_message()

    def test_the_customer_page_shows_consents_history_and_the_message_log(self):
        grant(self.customer, "marketing", "email")
        services.decision_make(customer=self.customer, message=self.message, record=True)
        self.client.force_login(self.agent)
        response = self.client.get(f"/membrane/customers/{self.customer.pk}/")
        self.assertContains(response, "Spring offers")
        self.assertContains(response, WORDING)
        self.assertContains(response, "You agreed to marketing messages by email.")
        for user in (self.marketer, self.analyst, self.outsider):
            self.client.force_login(user)
            response = self.client.get(f"/membrane/customers/{self.customer.pk}/")
            self.assertIn(response.status_code, (403, 404))

    def test_staff_record_a_paper_consent_and_mark_do_not_contact(self):
        self.client.force_login(self.agent)
        url = f"/membrane/customers/{self.customer.pk}/consents/"
        response = self.client.post(
            url,
            {
                "purpose": "marketing",
                "channel": "postal",
                "granted": "1",
                "source": "paper",
                "wording": "",
            },
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(ConsentEvent.objects.exists())
        response = self.client.post(
            url,
            {
                "purpose": "marketing",
                "channel": "postal",
                "granted": "1",
                "source": "paper",
                "wording": WORDING,
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(ConsentEvent.objects.get().source, "paper")
        response = self.client.post(
            f"/membrane/customers/{self.customer.pk}/do-not-contact/",
            {"channel": "phone", "reason": "staff"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertTrue(DoNotContact.objects.filter(channel="phone").exists())

    def test_campaign_pages_dry_run_start_letters_and_calls(self):
        grant(self.customer, "marketing", "postal")
        message = make_message(channels=("postal",), name="Catalogue")
        campaign = make_campaign(message)
        self.client.force_login(self.marketer)
        response = self.client.post(
            f"/membrane/campaigns/{campaign.pk}/dry-run/", headers={"HX-Request": "true"}
        )
        self.assertContains(response, "deliver")
        self.assertFalse(Decision.objects.exists())
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(f"/membrane/campaigns/{campaign.pk}/start/")
        self.assertEqual(response.status_code, 302)
        campaign.refresh_from_db()
        self.assertEqual(campaign.status, Campaign.Status.DONE)
        self.assertEqual(Delivery.objects.get().status, Delivery.Status.SENT)
        # Letters carry names and addresses: marketers do not print them.
        response = self.client.get(f"/membrane/campaigns/{campaign.pk}/letters.pdf")
        self.assertEqual(response.status_code, 403)
        self.client.force_login(self.manager)
        response = self.client.get(f"/membrane/campaigns/{campaign.pk}/letters.pdf")
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertTrue(response.content.startswith(b"%PDF"))
        response = self.client.get(f"/membrane/campaigns/{campaign.pk}/calls/?format=csv")
        self.assertEqual(response.status_code, 200)
        self.assertNotIn(
            "Marie",
            b"".join(response.streaming_content).decode()
            if response.streaming
            else response.content.decode(),
        )  # a letter, no call

    def test_the_call_list_names_who_to_call_and_what_to_say(self):
        grant(self.customer, "marketing", "phone")
        message = make_message(channels=("phone",), name="Check-in call")
        campaign = make_campaign(message)
        with self.captureOnCommitCallbacks(execute=True):
            services.campaign_run(campaign_id=campaign.pk)
        self.client.force_login(self.agent)
        page = self.client.get(f"/membrane/campaigns/{campaign.pk}/calls/")
        self.assertContains(page, "Marie Curie")
        self.assertContains(page, "+33612345678")
        self.assertContains(page, "Check-in call: hello (phone, fr)")
        response = self.client.get(f"/membrane/campaigns/{campaign.pk}/calls/?format=csv")
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        self.assertIn("Marie Curie", body)
        self.assertIn("'+33612345678", body)  # a leading + is a formula to a spreadsheet

    def test_the_policies_are_described_in_the_reader_s_language(self):
        self.client.force_login(self.analyst)
        french = self.client.get("/membrane/", HTTP_ACCEPT_LANGUAGE="fr")
        self.assertContains(french, "est passée n&#x27;est jamais envoyé")
        self.assertNotContains(french, "A message past its expiry date is never sent.")
        english = self.client.get("/membrane/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(english, "A message past its expiry date is never sent.")

    def test_the_membrane_page_lists_policies_in_order(self):
        self.client.force_login(self.analyst)
        response = self.client.get("/membrane/")
        self.assertContains(response, "quiet_hours")
        self.assertNotContains(response, 'action="/membrane/policies/')
        self.client.force_login(self.admin)
        response = self.client.post(
            "/membrane/policies/marketing/",
            {
                "marketing-relevance_minimum": "0",
                "marketing-bad_experience_days": "10",
                "marketing-duplicate_days": "5",
                "marketing-survey_recontact_days": "0",
                "marketing-week_cap": "",
                "marketing-month_cap": "3",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(PolicySetting.objects.get(purpose="marketing").params["month_cap"], 3)

    def test_messages_pages(self):
        self.client.force_login(self.marketer)
        response = self.client.post(
            "/membrane/messages/new/",
            {"name": "Hello", "purpose": "marketing", "priority": "3", "sms_fr_body": "Bonjour"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertTrue(Message.objects.filter(name="Hello").exists())
        response = self.client.get("/membrane/messages/")
        self.assertContains(response, "Hello")

    def test_staff_change_preferences_on_the_customers_word(self):
        self.client.force_login(self.agent)
        url = f"/membrane/customers/{self.customer.pk}/preferences/"
        response = self.client.post(url, {"channels": "postal, phone", "quiet_start": "20:00"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Preference.objects.exists())
        response = self.client.post(
            url,
            {
                "channels": "postal, phone",
                "accessibility": ["no_digital", "large_print"],
                "marketing_week": "1",
                "quiet_days": ["6"],
            },
        )
        self.assertEqual(response.status_code, 302)
        preference = Preference.objects.get(customer=self.customer)
        self.assertEqual(preference.channels, ["postal", "phone"])
        self.assertEqual(preference.purpose_caps, {"marketing": {"week": 1}})
        self.assertEqual(preference.quiet_days, [6])
        self.assertTrue(AuditEntry.objects.filter(action="preferences").exists())
        page = self.client.get(f"/membrane/customers/{self.customer.pk}/")
        self.assertContains(page, 'value="postal, phone"')
