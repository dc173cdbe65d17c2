"""Invitations and responses through the API, bulk imports, answers on the customer timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from django.utils import timezone

from cxcore.api.services import api_token_create
from cxcore.customers.models import AuditEntry
from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services
from cxcore.feedback.models import Answer, Invitation, Response
from cxcore.feedback.tests.test_invitations import invitation_message
from cxcore.feedback.tests.test_responses import open_survey
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class ApiTestCase(BaseTestCase):
    def call(self, user, method, path, body=None, *, scope="write"):
        _token, secret = api_token_create(actor=Actor(user=user), name="t", scope=scope)
        headers = {"Authorization": f"Bearer {secret}"}
        if method == "get":
            return self.client.get(path, headers=headers)
        return self.client.generic(
            method.upper(),
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers=headers,
        )


@time_machine.travel(NOON, tick=False)
class InvitationApiTests(ApiTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")
        self.survey = open_survey()
        self.survey.invitation_message = invitation_message()
        self.survey.save()
        self.customer = make_customer("Léa", "Roux", email="lea@example.org", language="en")
        self.interaction = make_interaction(
            self.customer, self.touchpoint, timezone.now() - timedelta(hours=1)
        )

    def test_a_link_for_a_receipt_and_a_sent_invitation(self):
        made = self.call(
            self.agent,
            "post",
            "/api/invitations",
            {"survey": self.survey.pk, "interaction": self.interaction.pk, "channel": "qr"},
        )
        self.assertEqual(made.status_code, 201, made.content)
        body = made.json()
        self.assertTrue(body["url"].endswith(f"/s/{body['token']}/"))
        self.assertRegex(body["short_code"], r"^[A-Z2-9]{5}-[A-Z2-9]{5}$")
        self.assertEqual((body["channel"], body["language"], body["sent"]), ("qr", "en", False))
        self.assertEqual(body["customer"], self.customer.pk)  # the interaction's customer
        # The same interaction is never asked about twice.
        again = self.call(
            self.agent,
            "post",
            "/api/invitations",
            {"survey": self.survey.pk, "interaction": self.interaction.pk, "send": True},
        )
        self.assertEqual(again.status_code, 422)
        self.assertEqual(again.json()["error"]["errors"][0]["field"], "interaction")
        other = make_customer("Max", "Roux", email="max@example.org")
        with self.captureOnCommitCallbacks(execute=True):
            sent = self.call(
                self.manager,
                "post",
                "/api/invitations",
                {"survey": self.survey.pk, "customer": other.pk, "send": True},
            )
        self.assertEqual(sent.status_code, 201, sent.content)
        self.assertTrue(sent.json()["sent"])
        self.assertIsNotNone(sent.json()["decision"])
        self.assertTrue(AuditEntry.objects.filter(action="invitation_sent").exists())

    def test_bad_invitation_requests_are_named(self):
        cases = [
            ({"survey": 999999}, "survey"),
            ({"survey": self.survey.pk, "customer": 999999}, "customer"),
            ({"survey": self.survey.pk, "interaction": 999999}, "interaction"),
            ({"survey": self.survey.pk, "send": True}, "customer"),
            ({"survey": self.survey.pk, "channel": "pigeon"}, "channel"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                response = self.call(self.manager, "post", "/api/invitations", body)
                self.assertEqual(response.status_code, 422, response.content)
                self.assertIn(field, json.dumps(response.json()))
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(
            self.call(self.analyst, "post", "/api/invitations", {"survey": 1}).status_code, 403
        )

    def test_answering_by_token_through_the_api(self):
        invitation = services.invitation_create(
            survey=self.survey, channel="web", customer=self.customer
        )
        bad = self.call(
            self.agent,
            "post",
            "/api/responses",
            {"token": invitation.token, "answers": {"nps": 12}},
        )
        self.assertEqual(bad.status_code, 422)
        self.assertEqual(bad.json()["error"]["errors"][0]["field"], "answers.nps")
        good = self.call(
            self.agent,
            "post",
            "/api/responses",
            {"token": invitation.token, "answers": {"nps": 10, "comment": "Parfait"}},
        )
        self.assertEqual(good.status_code, 201, good.content)
        self.assertEqual(good.json()["answers"], {"nps": 10, "comment": "Parfait"})
        used = self.call(
            self.agent, "post", "/api/responses", {"token": invitation.token, "answers": {"nps": 1}}
        )
        self.assertEqual(used.status_code, 422)
        self.assertEqual(used.json()["error"]["errors"][0]["code"], "used")
        self.assertEqual(Response.objects.get().nps, 10)


def item(n: int, **extra) -> dict:
    data = {
        "source": "old-tool",
        "external_id": f"r-{n}",
        "channel": "paper",
        "completed_at": "2026-10-01T10:00:00+02:00",
        "answers": {"nps": n % 11, "comment": f'=HYPERLINK("x") {n}'},
    }
    data.update(extra)
    return data


class ImportApiTests(ApiTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")
        self.survey = open_survey()
        self.customer = make_customer("Léa", "Roux", email="lea@example.org")
        self.interaction = make_interaction(
            self.customer, self.touchpoint, timezone.now() - timedelta(days=40)
        )
        self.path = f"/api/surveys/{self.survey.pk}/responses/import"

    def test_an_import_is_idempotent_and_ties_answers_to_the_interaction(self):
        items = [item(n) for n in range(20)] + [item(99, interaction=self.interaction.pk)]
        first = self.call(self.manager, "post", self.path, {"items": items})
        self.assertEqual(first.status_code, 200, first.content)
        self.assertEqual(first.json(), {"created": 21, "existing": 0})
        replay = self.call(self.manager, "post", self.path, {"items": items})
        self.assertEqual(replay.json(), {"created": 0, "existing": 21})
        self.assertEqual(Response.objects.count(), 21)
        tied = Response.objects.get(external_id="r-99")
        self.assertEqual(
            (tied.customer, tied.touchpoint, tied.channel, tied.nps, tied.nps_category),
            (self.customer, self.touchpoint, "paper", 0, "detractor"),
        )
        self.assertEqual(Answer.objects.filter(response=tied).count(), 2)

    def test_one_bad_item_refuses_the_whole_batch_naming_it(self):
        items = [
            item(1),
            item(2, answers={"nps": 11}),
            item(3, completed_at="yesterday"),
            item(4, customer=999999),
            item(5, channel="pigeon"),
            item(1),  # twice in the batch
            item(6, external_id=""),
            item(7, colour="red"),
        ]
        response = self.call(self.manager, "post", self.path, {"items": items})
        self.assertEqual(response.status_code, 422, response.content)
        fields = {e["field"] for e in response.json()["error"]["errors"]}
        self.assertEqual(
            fields,
            {
                "items.1.answers.nps",
                "items.2.completed_at",
                "items.3.customer",
                "items.4.channel",
                "items.5.external_id",
                "items.6.external_id",
                "items.7.colour",
            },
        )
        self.assertFalse(Response.objects.exists())
        self.assertFalse(Answer.objects.exists())

    def test_paper_answers_scanned_elsewhere_name_their_invitation_by_code(self):
        invitation = services.invitation_create(
            survey=self.survey, channel="paper", interaction=self.interaction
        )
        code = services.short_code_display(invitation.short_code).lower()
        first = self.call(self.manager, "post", self.path, {"items": [item(1, invitation=code)]})
        self.assertEqual(first.status_code, 200, first.content)
        response = Response.objects.get()
        self.assertEqual(
            (response.invitation, response.customer, response.interaction),
            (invitation, self.customer, self.interaction),
        )
        replay = self.call(self.manager, "post", self.path, {"items": [item(1, invitation=code)]})
        self.assertEqual(replay.json(), {"created": 0, "existing": 1})
        other = open_survey()
        foreign = services.invitation_create(survey=other, channel="paper")
        refused = self.call(
            self.manager,
            "post",
            self.path,
            {
                "items": [
                    item(2, invitation=code),  # answered by r-1 already
                    item(3, invitation="ZZZZZ-ZZZZZ"),
                    item(4, invitation=foreign.short_code),
                    item(5, invitation=12),
                ]
            },
        )
        self.assertEqual(refused.status_code, 422)
        self.assertEqual(
            {e["field"] for e in refused.json()["error"]["errors"]},
            {f"items.{n}.invitation" for n in range(4)},
        )
        self.assertEqual(Response.objects.count(), 1)

    def test_drafts_and_roles_without_the_right_cannot_import(self):
        draft = services.survey_duplicate(actor=Actor(via="test"), survey=self.survey)
        response = self.call(
            self.manager, "post", f"/api/surveys/{draft.pk}/responses/import", {"items": [item(1)]}
        )
        self.assertEqual(response.status_code, 422)
        for user in (self.analyst, self.marketer, self.outsider):
            with self.subTest(user=user.username):
                refused = self.call(user, "post", self.path, {"items": [item(1)]})
                self.assertEqual(refused.status_code, 403)
        self.assertFalse(Response.objects.exists())

    def test_reading_responses_hides_who_answered_from_roles_without_personal_data(self):
        self.call(
            self.manager,
            "post",
            self.path,
            {"items": [item(n, customer=self.customer.pk) for n in range(3)]},
        )
        for user, sees in ((self.manager, True), (self.analyst, False)):
            with self.subTest(user=user.username):
                page = self.call(user, "get", f"/api/surveys/{self.survey.pk}/responses?limit=2")
                self.assertEqual(page.status_code, 200, page.content)
                body = page.json()
                self.assertEqual(len(body["items"]), 2)
                self.assertEqual(body["items"][0]["customer"], self.customer.pk if sees else None)
                rest = self.call(
                    user,
                    "get",
                    f"/api/surveys/{self.survey.pk}/responses?before={body['next_before']}",
                )
                self.assertEqual(len(rest.json()["items"]), 1)
        self.assertEqual(
            self.call(self.marketer, "get", f"/api/surveys/{self.survey.pk}/responses").status_code,
            403,
        )


class TimelineTests(ApiTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")
        self.survey = open_survey()
        self.customer = make_customer("Léa", "Roux", email="lea@example.org")
        invitation = services.invitation_create(
            survey=self.survey, channel="web", customer=self.customer
        )
        services.response_submit(
            token=invitation.token,
            answers={"nps": 2, "why": ["late"], "comment": "<script>alert(1)</script>"},
            complete=True,
        )

    def test_the_customer_timeline_shows_answers_and_escapes_comments(self):
        self.client.force_login(self.agent)
        page = self.client.get(f"/customers/{self.customer.pk}/")
        self.assertContains(page, "NPS 2/10")
        self.assertContains(page, "&lt;script&gt;alert(1)&lt;/script&gt;")
        self.assertNotContains(page, "<script>alert(1)")
        api = self.call(self.agent, "get", f"/api/customers/{self.customer.pk}/timeline")
        [event] = [e for e in api.json()["events"] if e["kind"] == "response"]
        self.assertEqual((event["nps"], event["nps_category"]), (2, "detractor"))

    def test_roles_without_personal_data_do_not_read_the_comment(self):
        self.client.force_login(self.analyst)
        page = self.client.get(f"/customers/{self.customer.pk}/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "NPS 2/10")
        self.assertNotContains(page, "alert(1)")


class MergeTests(BaseTestCase):
    def test_answers_follow_a_merge_to_the_survivor(self):
        from cxcore.customers.services import customer_merge

        make_touchpoint("delivery")
        survey = open_survey()
        survivor = make_customer("Léa", "Roux", email="lea@example.org")
        merged = make_customer("Lea", "Roux", email="lea.roux@example.org")
        invitation = services.invitation_create(survey=survey, channel="web", customer=merged)
        services.response_submit(token=invitation.token, answers={"nps": 9}, complete=True)
        customer_merge(actor=Actor(user=self.manager), survivor=survivor, merged=merged)
        self.assertEqual(Response.objects.get().customer, survivor)
        invitation.refresh_from_db()
        self.assertEqual(invitation.customer, survivor)
        self.assertTrue(AuditEntry.objects.filter(action="responses_moved").exists())
