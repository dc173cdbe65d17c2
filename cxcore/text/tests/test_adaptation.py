"""Adapting the sentiment model: which comments become examples, with which label, and what an
adaptation keeps, adopts and records."""

from cxcore.customers.models import AuditEntry
from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services as feedback_services
from cxcore.feedback.models import QuestionType
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase
from cxcore.text import adaptation, engine, queries
from cxcore.text.models import SentimentModel
from cxcore.text.tests.factories import (
    FLIMBO,
    GRONK,
    comments_answered,
    scored_comments,
    survey_with_comment,
)

ACTOR = Actor(via="test")


class Labels(BaseTestCase):
    def test_nps_and_csat_scores_become_three_classes(self):
        nps = [adaptation.label_from_score(QuestionType.NPS, n) for n in range(11)]
        self.assertEqual(nps, ["negative"] * 7 + ["neutral"] * 2 + ["positive"] * 2)
        csat = [adaptation.label_from_score(QuestionType.CSAT, n) for n in range(1, 6)]
        self.assertEqual(csat, ["negative", "negative", "neutral", "positive", "positive"])
        self.assertIsNone(adaptation.label_from_score(QuestionType.CES, 3))

    def test_examples_are_complete_responses_with_a_score_and_a_comment(self):
        survey = survey_with_comment()
        comments_answered(
            survey,
            [
                ("Le conseiller était charmant et efficace.", 10),
                ("Attente interminable au guichet.", 3),
                ("Correct sans plus.", 7),
                ("   ", 9),  # no comment: not an example
                ("El pedido llegó tarde y nadie contesta.", 1),  # neither French nor English
            ],
            read=False,
        )
        partial = feedback_services.invitation_create(
            survey=survey, channel="web", customer=make_customer("Ana", "Lopez")
        )
        feedback_services.response_submit(
            token=partial.token,
            answers={"nps": 0, "comment": "Je reviendrai finir."},
            complete=False,
        )
        examples = adaptation.labelled_examples()
        self.assertEqual(
            sorted((e.text, e.language, e.label) for e in examples),
            [
                ("Attente interminable au guichet.", "fr", "negative"),
                ("Correct sans plus.", "fr", "neutral"),
                ("Le conseiller était charmant et efficace.", "fr", "positive"),
            ],
        )


class Adapting(BaseTestCase):
    def test_too_few_comments_are_refused_with_the_counts(self):
        survey = survey_with_comment()
        comments_answered(survey, [("Très bien.", 10), ("Nul.", 0)], read=False)
        with self.assertRaisesMessage(Exception, "at least 60") as caught:
            adaptation.model_adapt(actor=ACTOR)
        self.assertEqual(caught.exception.code, "too_few")
        self.assertFalse(SentimentModel.objects.exists())

    def test_a_better_model_is_adopted_recorded_and_audited(self):
        survey = survey_with_comment()
        comments_answered(survey, scored_comments(FLIMBO, GRONK), read=False)
        with self.captureOnCommitCallbacks(execute=True):
            result = adaptation.model_adapt(actor=ACTOR)
        self.assertTrue(result.adopted)
        self.assertGreater(result.after["macro_f1"], result.before["macro_f1"])
        row = SentimentModel.objects.get()
        self.assertTrue(row.active)
        self.assertEqual(row.metrics["base"], engine.default_model().version)
        self.assertEqual(row.metrics["held_back"], result.after["n"])
        self.assertEqual(row.examples + row.metrics["held_back"], 80)
        self.assertEqual(queries.active_model(fresh=True).version, row.version)
        self.assertTrue(AuditEntry.objects.filter(action="text.model_adapt").exists())
        # Adapting again starts from the shipped model, not from the adaptation.
        again = adaptation.model_adapt(actor=ACTOR)
        self.assertEqual(again.model.metrics["base"], row.version)
        artefact = again.model.artefact
        self.assertIsNone(artefact["adapter"]["adapter"])

    def test_restoring_the_shipped_model(self):
        SentimentModel.objects.create(
            version="company-x", artefact=engine.default_model().to_artefact(), active=True
        )
        with self.captureOnCommitCallbacks(execute=True):
            adaptation.model_restore_default(actor=ACTOR)
        self.assertFalse(SentimentModel.objects.filter(active=True).exists())
        self.assertEqual(queries.active_model(fresh=True).version, engine.default_model().version)
