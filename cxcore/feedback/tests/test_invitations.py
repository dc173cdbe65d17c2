"""Invitations: sent through the membrane, made by triggers after interactions, answered by SMS."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from django.utils.translation import gettext, override

from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services
from cxcore.feedback.models import Invitation, Response, SurveyTrigger
from cxcore.feedback.tests.test_responses import open_survey
from cxcore.feedback.tests.test_surveys import ACTOR
from cxcore.interactions.services import interaction_record
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.membrane import services as membrane
from cxcore.membrane.backends import webhook_signature
from cxcore.membrane.models import Decision, Delivery
from cxcore.membrane.tests.factories import SYSTEM_TEST, withdraw
from cxcore.test import BaseTestCase

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def invitation_message():
    variants = [
        {
            "channel": "email",
            "language": language,
            "subject": "Votre avis" if language == "fr" else "Your opinion",
            "body": "Répondez ici : {survey_link} (code {survey_code})"
            if language == "fr"
            else "Answer here: {survey_link} (code {survey_code})",
        }
        for language in ("fr", "en")
    ] + [
        {
            "channel": "sms",
            "language": language,
            "subject": "",
            "body": "Notez-nous de 0 à 10 en répondant à ce SMS."
            if language == "fr"
            else "Reply with a number from 0 to 10.",
        }
        for language in ("fr", "en")
    ]
    return membrane.message_create(
        actor=SYSTEM_TEST, name="Survey invitation", purpose="feedback", variants=variants
    )


@time_machine.travel(NOON, tick=False)  # outside the customer's quiet hours
class InvitationSendingTests(BaseTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")
        self.survey = open_survey()
        self.survey.invitation_message = invitation_message()
        self.survey.save()
        self.customer = make_customer("Léa", "Roux", email="lea@example.org", language="fr")
        self.interaction = make_interaction(
            self.customer, self.touchpoint, timezone.now() - timedelta(hours=2)
        )

    def test_an_invitation_goes_out_as_a_membrane_message_with_its_own_link(self):
        with self.captureOnCommitCallbacks(execute=True):
            invitation = services.invitation_send(
                survey=self.survey, customer=self.customer, interaction=self.interaction
            )
        self.assertFalse(invitation.blocked)
        self.assertEqual(invitation.channel, "web")  # an email: answered on the web
        decision = Decision.objects.get(pk=invitation.decision_id)
        self.assertEqual(
            (decision.purpose, decision.interaction_id), ("feedback", self.interaction.pk)
        )
        delivery = Delivery.objects.get(decision=decision)
        self.assertEqual(delivery.status, Delivery.Status.SENT)
        [email] = mail.outbox
        sent = email.body
        self.assertIn(f"/s/{invitation.token}/", sent)
        self.assertIn(services.short_code_display(invitation.short_code), sent)

    def test_a_refusal_blocks_the_invitation_and_it_is_kept_so_as_not_to_ask_again(self):
        withdraw(self.customer, "feedback", "email", "sms", "postal", "phone")
        invitation = services.invitation_send(
            survey=self.survey, customer=self.customer, interaction=self.interaction
        )
        self.assertTrue(invitation.blocked)
        self.assertFalse(Delivery.objects.exists())
        with self.assertRaises(ValidationError) as caught:
            services.invitation_send(
                survey=self.survey, customer=self.customer, interaction=self.interaction
            )
        self.assertEqual(services.refusal_code(caught.exception), "duplicate")
        self.assertEqual(Invitation.objects.count(), 1)

    def test_a_survey_without_an_invitation_message_says_so(self):
        self.survey.invitation_message = None
        self.survey.save()
        with self.assertRaises(ValidationError) as caught:
            services.invitation_send(survey=self.survey, customer=self.customer)
        self.assertIn("invitation_message", caught.exception.message_dict)
        self.assertFalse(Invitation.objects.exists())


class TriggerTests(BaseTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")
        self.other = make_touchpoint("billing")
        self.survey = open_survey()
        self.survey.invitation_message = invitation_message()
        self.survey.save()
        self.trigger = SurveyTrigger.objects.create(
            survey=self.survey, touchpoint=self.touchpoint, delay_minutes=60, sampling_percent=100
        )
        self.now = timezone.now()

    def interaction(self, minutes_ago: int, touchpoint=None, n: int = 0):
        customer = make_customer(f"C{n}", "Test", email=f"c{n}-{minutes_ago}@example.org")
        return make_interaction(
            customer, touchpoint or self.touchpoint, self.now - timedelta(minutes=minutes_ago)
        )

    def test_it_waits_for_the_delay_and_never_asks_twice(self):
        due = self.interaction(90)
        self.interaction(30, n=1)  # not yet: the delay is an hour
        self.interaction(90, touchpoint=self.other, n=2)  # another touchpoint
        self.interaction(60 * 24 * 10, n=3)  # too old: ten days
        counts = services.triggers_fire(now=self.now)
        self.assertEqual(counts, {"invited": 1, "blocked": 0, "skipped": 0})
        self.assertEqual(
            list(Invitation.objects.values_list("interaction_id", "trigger_id")),
            [(due.pk, self.trigger.pk)],
        )
        again = services.triggers_fire(now=self.now + timedelta(minutes=5))
        self.assertEqual(again, {"invited": 0, "blocked": 0, "skipped": 0})
        later = services.triggers_fire(now=self.now + timedelta(minutes=31))
        self.assertEqual(later["invited"], 1)  # the second interaction's hour has passed
        self.assertEqual(services.triggers_next_due(now=self.now), self.now + timedelta(minutes=30))

    def test_sampling_draws_the_same_share_every_time(self):
        self.trigger.sampling_percent = 30
        self.trigger.save()
        for n in range(200):
            self.interaction(90, n=n)
        first = services.triggers_fire(now=self.now)["invited"]
        self.assertTrue(35 <= first <= 85, first)  # about 60 of 200
        self.assertEqual(services.triggers_fire(now=self.now)["invited"], 0)
        self.trigger.sampling_percent = 0
        self.trigger.save()
        Invitation.objects.all().delete()
        self.assertEqual(services.triggers_fire(now=self.now)["invited"], 0)

    def test_closed_surveys_and_inactive_triggers_invite_nobody(self):
        self.interaction(90)
        services.survey_close(actor=ACTOR, survey=self.survey)
        self.assertEqual(services.triggers_fire(now=self.now)["invited"], 0)

    def test_a_new_interaction_plans_its_invitation(self):
        self.trigger.delay_minutes = 0
        self.trigger.save()
        customer = make_customer("Zoé", "Petit", email="zoe@example.org")
        with self.captureOnCommitCallbacks(execute=True):
            interaction = interaction_record(
                actor=ACTOR,
                customer=customer,
                touchpoint="delivery",
                channel="store",
                occurred_at=(timezone.now() - timedelta(minutes=1)).isoformat(),
            )
        self.assertTrue(Invitation.objects.filter(interaction=interaction).exists())


SECRET = "s3cret-for-tests"


@override_settings(SMS_INBOUND_SECRET=SECRET)
class SmsReplyTests(BaseTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")
        self.survey = open_survey()
        self.customer = make_customer("Jean", "Martin", phone="+33612345678", language="fr")
        self.invitation = services.invitation_create(
            survey=self.survey, channel="sms", customer=self.customer
        )

    def post(self, payload, *, stamp=None, secret=SECRET, raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        stamp = str(int(time.time()) if stamp is None else stamp)
        return self.client.post(
            "/hooks/sms/inbound",
            body,
            content_type="application/json",
            headers={
                "X-Cxcore-Timestamp": stamp,
                "X-Cxcore-Signature": webhook_signature(secret, stamp, body),
            },
        )

    def test_a_number_answers_and_a_following_message_becomes_the_comment(self):
        reply = self.post({"from": "06 12 34 56 78", "text": " 3 "})
        self.assertEqual(reply.status_code, 200, reply.content)
        self.assertEqual(reply.json()["status"], "recorded")
        response = Response.objects.get(invitation=self.invitation)
        self.assertEqual((response.status, response.nps, response.channel), ("complete", 3, "sms"))
        comment = self.post({"from": "+33612345678", "text": "<script>alert(1)</script> trop lent"})
        self.assertEqual(comment.json()["status"], "commented")
        self.assertEqual(
            response.answers.get(question__key="comment").text,
            "<script>alert(1)</script> trop lent",
        )
        # A replay changes nothing.
        self.assertEqual(
            self.post({"from": "+33612345678", "text": "3"}).json()["status"], "ignored"
        )
        self.assertEqual(Response.objects.count(), 1)

    def test_a_reply_that_is_not_a_score_gets_a_clear_answer_in_the_customers_language(self):
        reply = self.post({"from": "+33612345678", "text": "onze"}).json()
        self.assertEqual(reply["status"], "invalid")
        with override("fr"):
            expected = gettext("Please reply with a number from %(low)d to %(high)d.") % {
                "low": 0,
                "high": 10,
            }
        self.assertEqual(reply["reply"], expected)
        self.assertNotEqual(expected, "Please reply with a number from 0 to 10.")  # French
        self.assertEqual(
            self.post({"from": "+33612345678", "text": "11"}).json()["status"], "invalid"
        )
        self.assertFalse(Response.objects.exists())

    def test_unknown_numbers_are_ignored_and_bad_requests_refused(self):
        self.assertEqual(
            self.post({"from": "+33698765432", "text": "9"}).json()["status"], "ignored"
        )
        self.assertEqual(self.post({"from": "not a phone", "text": "9"}).status_code, 422)
        self.assertEqual(self.post({"from": "+33612345678"}).status_code, 422)
        self.assertEqual(self.post(None, raw=b"{oops").status_code, 422)
        self.assertEqual(
            self.post({"from": "+33612345678", "text": "9"}, secret="x").status_code, 401
        )
        stale = self.post({"from": "+33612345678", "text": "9"}, stamp=int(time.time()) - 3600)
        self.assertEqual(stale.status_code, 401)
        self.assertFalse(Response.objects.exists())
        with override_settings(SMS_INBOUND_SECRET=""):
            self.assertEqual(self.post({"from": "+33612345678", "text": "9"}).status_code, 503)

    def test_an_expired_invitation_is_not_answered(self):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
        self.assertEqual(
            self.post({"from": "+33612345678", "text": "9"}).json()["status"], "ignored"
        )
