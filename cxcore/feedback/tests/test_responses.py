"""Answers: one response per invitation, every answer checked, partial answers resumed."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import skipUnless

from django.core.exceptions import ValidationError
from django.db import connection
from django.test import TransactionTestCase
from django.utils import timezone

from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services
from cxcore.feedback.models import Answer, Response
from cxcore.feedback.tests.test_surveys import ACTOR, survey_data
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.test import BaseTestCase


def open_survey():
    survey = services.survey_create(actor=ACTOR, data=survey_data())
    return services.survey_open(actor=ACTOR, survey=survey)


class ResponseTests(BaseTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")
        self.customer = make_customer("Léa", "Roux", email="lea@example.org")
        self.interaction = make_interaction(
            self.customer, self.touchpoint, timezone.now() - timedelta(hours=2)
        )
        self.survey = open_survey()
        self.invitation = services.invitation_create(
            survey=self.survey, channel="web", customer=self.customer, interaction=self.interaction
        )

    def submit(self, answers, *, complete=True, token=None):
        return services.response_submit(
            token=self.invitation.token if token is None else token,
            answers=answers,
            complete=complete,
        )

    def refused(self, answers, *, complete=True, token=None) -> dict:
        with self.assertRaises(ValidationError) as caught:
            self.submit(answers, complete=complete, token=token)
        return caught.exception.message_dict

    def test_a_complete_answer_is_tied_to_everything_involved(self):
        response = self.submit({"nps": 4, "why": ["late"], "comment": "<b>Too</b> late"})
        self.assertEqual(response.status, Response.Status.COMPLETE)
        self.assertEqual((response.nps, response.nps_category), (4, "detractor"))
        self.assertEqual(response.customer, self.customer)
        self.assertEqual(response.interaction, self.interaction)
        self.assertEqual(response.touchpoint, self.touchpoint)
        self.assertEqual(response.channel, "web")
        self.assertEqual(
            Answer.objects.get(response=response, question__key="comment").text,
            "<b>Too</b> late",  # kept as typed; pages escape it
        )
        self.assertIsNotNone(response.seconds_to_complete)

    def test_every_bad_answer_is_named_and_nothing_is_saved(self):
        self.assertIn("answers.nps", self.refused({"nps": 11}))
        self.assertIn("answers.nps", self.refused({"nps": "9"}))
        self.assertIn("answers.nps", self.refused({"nps": True}))
        self.assertIn("answers.nps", self.refused({"comment": "fine"}))  # required
        self.assertIn("answers.why", self.refused({"nps": 4, "why": ["late", "late"]}))
        self.assertIn("answers.why", self.refused({"nps": 4, "why": ["lost"]}))
        # "why" is only asked of detractors.
        self.assertIn("answers.why", self.refused({"nps": 10, "why": ["late"]}))
        self.assertIn("answers.comment", self.refused({"nps": 9, "comment": "x" * 2001}))
        self.assertIn("answers.colour", self.refused({"nps": 9, "colour": "red"}))
        self.assertFalse(Response.objects.exists())
        self.assertFalse(Answer.objects.exists())

    def test_a_partial_answer_is_resumed_then_completed_once(self):
        partial = self.submit({"comment": "Pas encore fini"}, complete=False)
        self.assertEqual(partial.status, Response.Status.PARTIAL)
        done = self.submit({"nps": 9, "comment": "Finalement, parfait"})
        self.assertEqual(done.pk, partial.pk)
        self.assertEqual(done.status, Response.Status.COMPLETE)
        self.assertEqual(done.nps_category, "promoter")
        self.assertEqual(
            list(done.answers.values_list("question__key", flat=True).order_by("question__key")),
            ["comment", "nps"],
        )
        errors = self.refused({"nps": 3})
        self.assertEqual(errors["token"], ["This invitation was already answered."])
        self.assertEqual(Response.objects.count(), 1)

    def test_unknown_expired_and_closed_links_are_refused(self):
        self.assertIn("token", self.refused({"nps": 9}, token="not-a-token"))
        self.assertIn("token", self.refused({"nps": 9}, token=""))
        expired = services.invitation_create(survey=self.survey, channel="sms", valid_days=0)
        self.assertIn("token", self.refused({"nps": 9}, token=expired.token))
        services.survey_close(actor=ACTOR, survey=self.survey)
        self.assertIn("token", self.refused({"nps": 9}))
        with self.assertRaises(ValidationError):
            services.invitation_create(survey=self.survey, channel="web")
        self.assertFalse(Response.objects.exists())

    def test_tokens_are_long_unique_and_never_empty(self):
        tokens = {
            services.invitation_create(survey=self.survey, channel="qr").token for _ in range(50)
        }
        self.assertEqual(len(tokens), 50)
        self.assertTrue(all(len(token) >= 40 for token in tokens))


@skipUnless(connection.vendor == "postgresql", "concurrent transactions need PostgreSQL")
class ConcurrentSubmissionTest(TransactionTestCase):
    def test_two_submissions_on_one_token_make_exactly_one_response(self):
        make_touchpoint("delivery")
        survey = open_survey()
        token = services.invitation_create(survey=survey, channel="web").token
        start = threading.Barrier(6)
        outcomes: list[str] = []

        def submit(score: int):
            try:
                start.wait(timeout=30)
                services.response_submit(token=token, answers={"nps": score}, complete=True)
                outcomes.append("saved")
            except ValidationError as exc:
                outcomes.append(exc.message_dict["token"][0])
            finally:
                connection.close()

        threads = [threading.Thread(target=submit, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(outcomes.count("saved"), 1, outcomes)
        self.assertEqual(Response.objects.count(), 1)
        self.assertEqual(Answer.objects.count(), 1)
