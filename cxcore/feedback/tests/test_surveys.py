"""Surveys: building them with checked questions and branching, copying, closing, JSON."""

import json

from django.core.exceptions import ValidationError

from cxcore.api.services import api_token_create
from cxcore.customers.models import AuditEntry
from cxcore.feedback import services
from cxcore.feedback.models import Question, Survey
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase

ACTOR = Actor(via="test")


def survey_data(**extra) -> dict:
    data = {
        "name": "After delivery",
        "kind": "transactional",
        "touchpoint": "delivery",
        "title_fr": "Votre livraison",
        "title_en": "Your delivery",
        "questions": [
            {
                "key": "nps",
                "type": "nps",
                "text_fr": "Recommanderiez-vous ?",
                "text_en": "Would you recommend us?",
                "required": True,
            },
            {
                "key": "why",
                "type": "multiple",
                "text_fr": "Qu'est-ce qui n'allait pas ?",
                "text_en": "What went wrong?",
                "choices": [
                    {"value": "late", "fr": "En retard", "en": "Late"},
                    {"value": "damaged", "fr": "Abîmé", "en": "Damaged"},
                ],
                "show_if": {"question": "nps", "op": "lte", "value": 6},
            },
            {"key": "comment", "type": "text", "text_fr": "Un mot ?", "text_en": "Anything else?"},
        ],
    }
    data.update(extra)
    return data


class SurveyBuildingTests(BaseTestCase):
    def setUp(self):
        make_touchpoint("delivery")

    def test_it_builds_a_draft_with_scales_filled_in(self):
        survey = services.survey_create(actor=ACTOR, data=survey_data())
        self.assertEqual(survey.status, Survey.Status.DRAFT)
        nps, why, comment = survey.questions.all()
        self.assertEqual((nps.position, nps.scale_min, nps.scale_max), (1, 0, 10))
        self.assertEqual(why.show_if, {"question": "nps", "op": "lte", "value": 6})
        self.assertEqual(comment.max_length, 2000)
        self.assertTrue(AuditEntry.objects.filter(action="survey_created").exists())

    def assert_refused(self, field: str, **changes):
        data = survey_data(**changes)
        with self.assertRaises(ValidationError) as caught:
            services.survey_create(actor=ACTOR, data=data)
        self.assertIn(field, caught.exception.message_dict)
        self.assertFalse(Survey.objects.exists())
        self.assertFalse(Question.objects.exists())

    def questions_with(self, position: int, **changes) -> list:
        questions = json.loads(json.dumps(survey_data()["questions"]))
        questions[position].update(changes)
        return questions

    def test_it_names_every_bad_part_precisely(self):
        self.assert_refused("touchpoint", touchpoint=None)
        self.assert_refused("touchpoint", touchpoint="nowhere")
        self.assert_refused("title_en", title_en="")
        self.assert_refused("kind", kind="poll")
        self.assert_refused("questions", questions=[])
        self.assert_refused("questions.0.type", questions=self.questions_with(0, type="stars"))
        self.assert_refused("questions.0.text_en", questions=self.questions_with(0, text_en=""))
        self.assert_refused("questions.0.scale_min", questions=self.questions_with(0, scale_min=1))
        self.assert_refused("questions.1.key", questions=self.questions_with(1, key="nps"))
        self.assert_refused("questions.1.key", questions=self.questions_with(1, key="Why?"))
        self.assert_refused("questions.1.choices", questions=self.questions_with(1, choices=[]))
        self.assert_refused(
            "questions.2.choices",
            questions=self.questions_with(2, choices=[{"value": "a", "fr": "a", "en": "a"}] * 2),
        )
        self.assert_refused(
            "questions.2.max_length", questions=self.questions_with(2, max_length=100_000)
        )
        self.assert_refused("questions.0.color", questions=self.questions_with(0, color="red"))

    def test_branching_looks_only_at_earlier_questions_and_possible_answers(self):
        later = {"question": "comment", "op": "eq", "value": "x"}
        self.assert_refused("questions.1.show_if", questions=self.questions_with(1, show_if=later))
        out_of_scale = {"question": "nps", "op": "lte", "value": 11}
        self.assert_refused(
            "questions.1.show_if", questions=self.questions_with(1, show_if=out_of_scale)
        )
        bad_op = {"question": "nps", "op": "like", "value": 3}
        self.assert_refused("questions.1.show_if", questions=self.questions_with(1, show_if=bad_op))
        on_text = {"question": "why", "op": "gte", "value": "late"}
        self.assert_refused(
            "questions.2.show_if", questions=self.questions_with(2, show_if=on_text)
        )
        on_choice = {"question": "why", "op": "in", "value": ["late"]}
        survey = services.survey_create(
            actor=ACTOR, data=survey_data(questions=self.questions_with(2, show_if=on_choice))
        )
        self.assertEqual(survey.questions.get(key="comment").show_if["value"], ["late"])

    def test_a_relationship_survey_needs_no_touchpoint_and_ratings_set_their_scale(self):
        questions = [
            {"key": "stars", "type": "rating", "text_fr": "Note", "text_en": "Stars",
             "scale_min": 1, "scale_max": 10},
            {"key": "again", "type": "yes_no", "text_fr": "Encore ?", "text_en": "Again?"},
        ]  # fmt: skip
        survey = services.survey_create(
            actor=ACTOR,
            data=survey_data(kind="relationship", touchpoint=None, questions=questions),
        )
        self.assertEqual(survey.questions.get(key="stars").scale_max, 10)
        bad = [dict(questions[0], scale_min=5, scale_max=5)]
        with self.assertRaises(ValidationError) as caught:
            services.survey_questions_set(actor=ACTOR, survey=survey, questions=bad)
        self.assertIn("questions.0.scale_max", caught.exception.message_dict)
        self.assertEqual(survey.questions.count(), 2)

    def test_open_close_and_only_drafts_change(self):
        survey = services.survey_create(actor=ACTOR, data=survey_data())
        services.survey_open(actor=ACTOR, survey=survey)
        with self.assertRaises(ValidationError):
            services.survey_questions_set(
                actor=ACTOR, survey=survey, questions=survey_data()["questions"]
            )
        services.survey_close(actor=ACTOR, survey=survey)
        self.assertEqual(survey.status, Survey.Status.CLOSED)
        self.assertIsNotNone(survey.closed_at)
        with self.assertRaises(ValidationError):
            services.survey_close(actor=ACTOR, survey=survey)

    def test_export_import_and_duplicate_give_the_same_survey(self):
        survey = services.survey_create(actor=ACTOR, data=survey_data())
        exported = services.survey_export(survey)
        imported = services.survey_import(actor=ACTOR, data=json.loads(json.dumps(exported)))
        again = services.survey_export(imported)
        self.assertEqual(again, exported)
        copy = services.survey_duplicate(actor=ACTOR, survey=survey)
        self.assertEqual(copy.name, "Copy of After delivery")
        self.assertEqual(copy.status, Survey.Status.DRAFT)
        self.assertEqual(copy.questions.count(), 3)
        with self.assertRaises(ValidationError) as caught:
            services.survey_import(actor=ACTOR, data={"name": "x"})
        self.assertIn("format", caught.exception.message_dict)


class SurveyApiTests(BaseTestCase):
    def setUp(self):
        make_touchpoint("delivery")

    def call(self, user, method, path, body=None):
        _token, secret = api_token_create(actor=Actor(user=user), name="t", scope="write")
        return self.client.generic(
            method.upper(),
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    def test_cx_leads_build_surveys_and_others_read_them(self):
        response = self.call(self.manager, "post", "/api/surveys", survey_data())
        self.assertEqual(response.status_code, 201, response.content)
        survey_id = response.json()["id"]
        self.assertEqual(len(response.json()["questions"]), 3)
        for user in (self.analyst, self.marketer, self.agent):
            self.assertEqual(self.call(user, "get", f"/api/surveys/{survey_id}").status_code, 200)
            self.assertEqual(
                self.call(user, "post", "/api/surveys", survey_data()).status_code, 403
            )
        self.assertEqual(self.call(self.auditor, "get", "/api/surveys").status_code, 403)

        bad = survey_data(questions=[{"type": "nps", "text_fr": "x"}])
        response = self.call(self.manager, "post", "/api/surveys", bad)
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["errors"][0]["field"], "questions.0.text_en")

        exported = self.call(self.manager, "get", f"/api/surveys/{survey_id}/export").json()
        response = self.call(self.manager, "post", "/api/surveys/import", exported)
        self.assertEqual(response.status_code, 201)
        response = self.call(self.manager, "post", f"/api/surveys/{survey_id}/duplicate")
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["status"], "draft")
        response = self.call(self.manager, "post", f"/api/surveys/{survey_id}/open")
        self.assertEqual(response.json()["status"], "open")
        response = self.call(
            self.manager, "put", f"/api/surveys/{survey_id}/questions", survey_data()["questions"]
        )
        self.assertEqual(response.status_code, 422)
        response = self.call(self.manager, "post", f"/api/surveys/{survey_id}/close")
        self.assertEqual(response.json()["status"], "closed")
        self.assertEqual(self.call(self.manager, "get", "/api/surveys/999999").status_code, 404)
