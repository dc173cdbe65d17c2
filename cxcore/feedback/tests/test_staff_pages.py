"""Staff pages of surveys: list, builder, JSON in and out, triggers, kiosks, who may do what."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from cxcore.console.tests.test_permissions import concrete, console_views
from cxcore.customers.models import AuditEntry
from cxcore.feedback import services
from cxcore.feedback.models import Kiosk, Question, Survey, SurveyTrigger
from cxcore.feedback.tests.test_surveys import ACTOR, survey_data
from cxcore.interactions.models import Site
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.membrane.tests.factories import make_message
from cxcore.test import BaseTestCase

SURVEY_FIELDS = {
    "name": "After delivery",
    "kind": "transactional",
    "touchpoint": "delivery",
    "title_fr": "Votre livraison",
    "title_en": "Your delivery",
    "intro_fr": "",
    "intro_en": "",
    "thanks_fr": "Merci !",
    "thanks_en": "Thank you!",
    "invitation_message": "",
}

EVERY_TYPE = [
    {"key": "nps", "type": "nps", "text_fr": "Recommanderiez-vous ?", "text_en": "Recommend?",
     "required": True},
    {"key": "csat", "type": "csat", "text_fr": "Satisfait ?", "text_en": "Satisfied?"},
    {"key": "ces", "type": "ces", "text_fr": "Facile ?", "text_en": "Easy?"},
    {"key": "stars", "type": "rating", "text_fr": "Note", "text_en": "Stars", "scale_min": "1",
     "scale_max": "10"},
    {"key": "why", "type": "single", "text_fr": "Pourquoi ?", "text_en": "Why?",
     "choices": "late | En retard | Late\ndamaged | Abîmé | Damaged",
     "condition_question": "nps", "condition_op": "lte", "condition_value": "6"},
    {"key": "what", "type": "multiple", "text_fr": "Quoi ?", "text_en": "What?",
     "choices": "price | Le prix | The price\nstaff | L'accueil | The staff",
     "condition_question": "why", "condition_op": "in", "condition_value": "late, damaged"},
    {"key": "again", "type": "yes_no", "text_fr": "Encore ?", "text_en": "Again?"},
    {"key": "comment", "type": "text", "text_fr": "Un mot ?", "text_en": "A word?",
     "max_length": "500", "condition_question": "again", "condition_op": "eq",
     "condition_value": "yes"},
]  # fmt: skip


def builder_data(rows, action="save", **fields) -> dict:
    """The builder's form as a browser posts it."""
    data = {
        **SURVEY_FIELDS,
        **fields,
        "action": action,
        "questions-TOTAL_FORMS": str(len(rows)),
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        row = {"condition_op": "eq", **row}
        for name, value in row.items():
            if name == "required":
                if value:
                    data[f"questions-{n}-required"] = "on"
            else:
                data[f"questions-{n}-{name}"] = value
    return data


def row_values(response) -> list[dict]:
    return [
        {name: row[name].value() for name in ("key", "type", "text_en")}
        for row in response.context["formset"].forms
    ]


class SurveyPagesTestCase(BaseTestCase):
    def setUp(self):
        self.touchpoint = make_touchpoint("delivery")

    def draft(self, **extra) -> Survey:
        return services.survey_create(actor=ACTOR, data=survey_data(**extra))

    def opened(self) -> Survey:
        return services.survey_open(actor=ACTOR, survey=self.draft())


class BuilderTests(SurveyPagesTestCase):
    def test_it_builds_a_survey_with_every_question_type(self):
        message = make_message("feedback", name="Your opinion")
        self.client.force_login(self.manager)

        response = self.client.post(
            "/surveys/new/", builder_data(EVERY_TYPE, invitation_message=str(message.pk))
        )

        survey = Survey.objects.get()
        self.assertRedirects(response, f"/surveys/{survey.pk}/")
        self.assertEqual(survey.status, Survey.Status.DRAFT)
        self.assertEqual(survey.touchpoint, self.touchpoint)
        self.assertEqual(survey.invitation_message, message)
        self.assertEqual(survey.created_by, self.manager)
        questions = {q.key: q for q in survey.questions.all()}
        self.assertEqual(list(questions), [row["key"] for row in EVERY_TYPE])
        self.assertEqual((questions["nps"].scale_min, questions["nps"].scale_max), (0, 10))
        self.assertEqual((questions["stars"].scale_min, questions["stars"].scale_max), (1, 10))
        self.assertTrue(questions["nps"].required)
        self.assertEqual(
            questions["why"].choices,
            [
                {"value": "late", "fr": "En retard", "en": "Late"},
                {"value": "damaged", "fr": "Abîmé", "en": "Damaged"},
            ],
        )
        self.assertEqual(questions["why"].show_if, {"question": "nps", "op": "lte", "value": 6})
        self.assertEqual(questions["what"].show_if["value"], ["late", "damaged"])
        self.assertEqual(questions["comment"].show_if["value"], True)
        self.assertEqual(questions["comment"].max_length, 500)
        self.assertTrue(AuditEntry.objects.filter(action="survey_created").exists())

    def test_it_shows_each_problem_at_its_row_and_field_with_a_summary(self):
        self.client.force_login(self.admin)
        rows = [dict(row) for row in EVERY_TYPE]
        rows[2]["text_en"] = ""
        rows[4]["choices"] = "late | En retard | Late"
        rows[6]["condition_question"] = "comment"  # a later question

        response = self.client.post("/surveys/new/", builder_data(rows, title_en=""))

        self.assertEqual(response.status_code, 400)
        self.assertFalse(Survey.objects.exists())
        forms = response.context["formset"].forms
        self.assertIn("text_en", forms[2].errors)
        self.assertIn("choices", forms[4].errors)
        self.assertIn("condition_question", forms[6].errors)
        self.assertFalse(forms[0].errors)
        self.assertIn("title_en", response.context["form"].errors)
        anchors = [item["anchor"] for item in response.context["error_summary"]]
        self.assertIn("id_questions-2-text_en", anchors)
        self.assertIn("id_title_en", anchors)
        self.assertContains(response, 'href="#id_questions-4-choices"', status_code=400)

    def test_a_badly_written_choice_line_is_named_before_any_saving(self):
        self.client.force_login(self.admin)
        rows = [dict(EVERY_TYPE[0]), {**EVERY_TYPE[4], "choices": "late, En retard"}]

        response = self.client.post("/surveys/new/", builder_data(rows))

        self.assertEqual(response.status_code, 400)
        self.assertIn("Line 1", response.context["formset"].forms[1].errors["choices"][0])
        self.assertFalse(Survey.objects.exists())

    def test_it_adds_removes_and_moves_rows_without_saving(self):
        self.client.force_login(self.admin)
        rows = [dict(row) for row in EVERY_TYPE[:3]]

        added = self.client.post("/surveys/new/", builder_data(rows, action="add"))
        removed = self.client.post("/surveys/new/", builder_data(rows, action="remove-1"))
        up = self.client.post("/surveys/new/", builder_data(rows, action="up-2"))
        down = self.client.post("/surveys/new/", builder_data(rows, action="down-0"))

        self.assertEqual([r["key"] for r in row_values(added)], ["nps", "csat", "ces", None])
        self.assertEqual([r["key"] for r in row_values(removed)], ["nps", "ces"])
        self.assertEqual([r["key"] for r in row_values(up)], ["nps", "ces", "csat"])
        self.assertEqual([r["key"] for r in row_values(down)], ["csat", "nps", "ces"])
        self.assertEqual(row_values(up)[1]["text_en"], "Easy?")
        self.assertEqual(down.context["form"]["name"].value(), "After delivery")
        self.assertFalse(Survey.objects.exists())
        self.assertContains(up, 'name="questions-TOTAL_FORMS" value="3"')

    def test_htmx_redraws_only_the_builder(self):
        self.client.force_login(self.admin)

        response = self.client.post(
            "/surveys/new/",
            builder_data(EVERY_TYPE[:1], action="add"),
            headers={"HX-Request": "true"},
        )

        self.assertContains(response, 'id="builder"')
        self.assertNotContains(response, "<html")

    def test_a_blank_added_row_is_skipped_on_saving(self):
        self.client.force_login(self.admin)
        rows = [dict(EVERY_TYPE[0]), {"type": "nps"}]

        self.client.post("/surveys/new/", builder_data(rows))

        self.assertEqual(Question.objects.count(), 1)

    def test_it_edits_a_draft_showing_its_questions_then_replacing_them(self):
        survey = self.draft()
        self.client.force_login(self.manager)

        page = self.client.get(f"/surveys/{survey.pk}/edit/")
        self.assertEqual([r["key"] for r in row_values(page)], ["nps", "why", "comment"])
        why = page.context["formset"].forms[1]
        self.assertEqual(
            why["choices"].value(), "late | En retard | Late\ndamaged | Abîmé | Damaged"
        )
        self.assertEqual(why["condition_value"].value(), "6")

        rows = [dict(EVERY_TYPE[0]), dict(EVERY_TYPE[6])]
        response = self.client.post(
            f"/surveys/{survey.pk}/edit/", builder_data(rows, name="After delivery, v2")
        )

        self.assertRedirects(response, f"/surveys/{survey.pk}/")
        survey.refresh_from_db()
        self.assertEqual(survey.name, "After delivery, v2")
        self.assertEqual(list(survey.questions.values_list("key", flat=True)), ["nps", "again"])
        entry = AuditEntry.objects.filter(action="survey_changed").latest("id")
        self.assertIn("questions", entry.changes["fields"])
        self.assertIn("name", entry.changes["fields"])

    def test_it_keeps_the_draft_unchanged_when_a_question_is_wrong(self):
        survey = self.draft()
        self.client.force_login(self.manager)
        rows = [{**EVERY_TYPE[0], "key": "Bad key!"}]

        response = self.client.post(
            f"/surveys/{survey.pk}/edit/", builder_data(rows, name="Renamed")
        )

        self.assertEqual(response.status_code, 400)
        self.assertIn("key", response.context["formset"].forms[0].errors)
        survey.refresh_from_db()
        self.assertEqual(survey.name, "After delivery")
        self.assertEqual(survey.questions.count(), 3)

    def test_it_refuses_a_message_of_another_purpose(self):
        marketing = make_message("marketing")
        self.client.force_login(self.admin)

        response = self.client.post(
            "/surveys/new/", builder_data(EVERY_TYPE[:1], invitation_message=str(marketing.pk))
        )

        self.assertEqual(response.status_code, 400)
        self.assertIn("invitation_message", response.context["form"].errors)

    def test_it_refuses_to_edit_an_open_survey(self):
        survey = self.opened()
        self.client.force_login(self.admin)

        page = self.client.get(f"/surveys/{survey.pk}/edit/")
        post = self.client.post(
            f"/surveys/{survey.pk}/edit/", builder_data(EVERY_TYPE[:1], name="Changed")
        )

        self.assertRedirects(page, f"/surveys/{survey.pk}/")
        self.assertRedirects(post, f"/surveys/{survey.pk}/")
        survey.refresh_from_db()
        self.assertEqual(survey.name, "After delivery")
        self.assertEqual(survey.questions.count(), 3)

    def test_the_update_service_refuses_an_open_survey(self):
        from django.core.exceptions import ValidationError

        survey = self.opened()
        with self.assertRaises(ValidationError):
            services.survey_update(actor=ACTOR, survey=survey, data={"name": "x"})


class SurveyListAndDetailTests(SurveyPagesTestCase):
    def test_it_lists_surveys_with_their_counts_in_few_queries(self):
        self.draft()
        self.opened()
        self.client.force_login(self.analyst)

        # Session, user, permissions (2), role names, then one query for every survey.
        with self.assertNumQueries(6):
            response = self.client.get("/surveys/")

        self.assertEqual(response.status_code, 200)
        surveys = list(response.context["surveys"])
        self.assertEqual([s.question_count for s in surveys], [3, 3])
        self.assertEqual([s.response_count for s in surveys], [0, 0])
        self.assertNotContains(response, "New survey")  # analysts read only

    def test_it_opens_closes_and_duplicates_from_the_detail_page(self):
        survey = self.draft()
        self.client.force_login(self.manager)

        self.client.post(f"/surveys/{survey.pk}/open/")
        survey.refresh_from_db()
        self.assertEqual(survey.status, Survey.Status.OPEN)
        page = self.client.get(f"/surveys/{survey.pk}/")
        self.assertContains(page, f"/q/{survey.public_code}/")
        self.assertContains(page, f"/q/{survey.public_code}/qr.svg")

        self.client.post(f"/surveys/{survey.pk}/close/")
        survey.refresh_from_db()
        self.assertEqual(survey.status, Survey.Status.CLOSED)

        response = self.client.post(f"/surveys/{survey.pk}/duplicate/")
        copy = Survey.objects.exclude(pk=survey.pk).get()
        self.assertRedirects(response, f"/surveys/{copy.pk}/edit/")
        self.assertEqual(copy.status, Survey.Status.DRAFT)
        self.assertEqual(copy.questions.count(), 3)

    def test_a_draft_shows_no_public_link(self):
        survey = self.draft()
        self.client.force_login(self.agent)

        response = self.client.get(f"/surveys/{survey.pk}/")

        self.assertNotContains(response, "/q/")
        self.assertNotContains(response, "Edit the draft")


class JsonTests(SurveyPagesTestCase):
    def test_export_then_import_gives_the_same_survey(self):
        survey = self.draft()
        self.client.force_login(self.admin)

        exported = self.client.get(f"/surveys/{survey.pk}/survey.json")
        self.assertEqual(exported["Content-Type"], "application/json; charset=utf-8")
        self.assertIn("attachment", exported["Content-Disposition"])
        upload = SimpleUploadedFile("s.json", exported.content, content_type="application/json")
        response = self.client.post("/surveys/import/", {"file": upload})

        copy = Survey.objects.exclude(pk=survey.pk).get()
        self.assertRedirects(response, f"/surveys/{copy.pk}/")
        self.assertEqual(services.survey_export(copy), json.loads(exported.content))

    def test_import_names_what_is_wrong(self):
        self.client.force_login(self.admin)
        data = services.survey_export(self.draft())
        data["questions"][1]["text_en"] = ""
        not_json = SimpleUploadedFile("s.json", b"{nope", content_type="application/json")
        wrong = SimpleUploadedFile("s.json", json.dumps(data).encode(), content_type="text/json")

        first = self.client.post("/surveys/import/", {"file": not_json})
        second = self.client.post("/surveys/import/", {"file": wrong})

        self.assertEqual(first.status_code, 400)
        self.assertIn("file", first.context["form"].errors)
        self.assertContains(second, "questions.1.text_en", status_code=400)
        self.assertEqual(Survey.objects.count(), 1)


class TriggerTests(SurveyPagesTestCase):
    def trigger_data(self, **extra):
        data = {
            "touchpoint": "delivery",
            "delay_minutes": "120",
            "sampling_percent": "25",
            "max_age_days": "7",
            "active": "on",
        }
        data.update(extra)
        return data

    def test_it_adds_edits_and_switches_off_a_trigger(self):
        survey = self.opened()
        self.client.force_login(self.manager)

        response = self.client.post(f"/surveys/{survey.pk}/triggers/", self.trigger_data())
        self.assertRedirects(response, f"/surveys/{survey.pk}/#triggers")
        trigger = SurveyTrigger.objects.get()
        self.assertEqual((trigger.delay_minutes, trigger.sampling_percent), (120, 25))
        self.assertTrue(AuditEntry.objects.filter(action="trigger_created").exists())

        edit = f"/surveys/{survey.pk}/triggers/{trigger.pk}/"
        self.assertEqual(self.client.get(edit).status_code, 200)
        self.client.post(edit, self.trigger_data(sampling_percent="50"))
        trigger.refresh_from_db()
        self.assertEqual(trigger.sampling_percent, 50)

        self.client.post(f"{edit}deactivate/")
        trigger.refresh_from_db()
        self.assertFalse(trigger.active)

    def test_it_checks_sampling_delay_and_touchpoint(self):
        survey = self.opened()
        make_touchpoint("billing")
        self.client.force_login(self.admin)

        cases = {
            "sampling_percent": self.trigger_data(sampling_percent="101"),
            "delay_minutes": self.trigger_data(delay_minutes="43201"),
            "max_age_days": self.trigger_data(max_age_days="0"),
            "touchpoint": self.trigger_data(touchpoint="billing"),  # not the survey's own
        }
        for field, data in cases.items():
            with self.subTest(field=field):
                response = self.client.post(f"/surveys/{survey.pk}/triggers/", data)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["trigger_form"].errors)
        self.assertFalse(SurveyTrigger.objects.exists())

    def test_a_relationship_survey_is_triggered_anywhere(self):
        survey = self.draft(kind="relationship", touchpoint=None)
        make_touchpoint("billing")

        trigger = services.trigger_save(
            actor=ACTOR,
            survey=survey,
            data={"touchpoint": "billing", "delay_minutes": 0, "sampling_percent": 0,
                  "max_age_days": 30},
        )  # fmt: skip

        self.assertEqual(trigger.touchpoint.code, "billing")

    def test_a_trigger_of_another_survey_is_not_found(self):
        survey, other = self.opened(), self.opened()
        trigger = services.trigger_save(
            actor=ACTOR,
            survey=other,
            data={"touchpoint": "delivery", "delay_minutes": 0, "sampling_percent": 10,
                  "max_age_days": 30},
        )  # fmt: skip
        self.client.force_login(self.admin)

        response = self.client.get(f"/surveys/{survey.pk}/triggers/{trigger.pk}/")

        self.assertEqual(response.status_code, 404)


class KioskTests(SurveyPagesTestCase):
    def test_it_creates_a_kiosk_shows_its_address_replaces_its_key_and_switches_it_off(self):
        survey = self.opened()
        Site.objects.create(code="lyon", name="Lyon", kind="store")
        self.client.force_login(self.manager)

        response = self.client.post(
            f"/surveys/{survey.pk}/kiosks/",
            {"name": "Entrance", "site": "lyon", "max_per_minute": "4"},
        )
        self.assertRedirects(response, f"/surveys/{survey.pk}/#kiosks")
        kiosk = Kiosk.objects.get()
        self.assertEqual((kiosk.site.code, kiosk.max_per_minute), ("lyon", 4))
        self.assertContains(self.client.get(f"/surveys/{survey.pk}/"), f"/kiosk/{kiosk.key}/")

        old_key = kiosk.key
        self.client.post(f"/surveys/{survey.pk}/kiosks/{kiosk.pk}/key/")
        kiosk.refresh_from_db()
        self.assertNotEqual(kiosk.key, old_key)
        self.assertTrue(AuditEntry.objects.filter(action="kiosk_key_replaced").exists())

        self.client.post(f"/surveys/{survey.pk}/kiosks/{kiosk.pk}/deactivate/")
        kiosk.refresh_from_db()
        self.assertFalse(kiosk.active)

    def test_it_checks_the_kiosk_form(self):
        survey = self.opened()
        self.client.force_login(self.admin)

        response = self.client.post(
            f"/surveys/{survey.pk}/kiosks/", {"name": "Till", "max_per_minute": "0"}
        )

        self.assertEqual(response.status_code, 400)
        self.assertIn("max_per_minute", response.context["kiosk_form"].errors)
        self.assertFalse(Kiosk.objects.exists())

    def test_the_key_is_shown_only_to_those_who_manage_surveys(self):
        survey = self.opened()
        kiosk = services.kiosk_create(actor=ACTOR, survey=survey, data={"name": "Till"})
        self.client.force_login(self.analyst)

        response = self.client.get(f"/surveys/{survey.pk}/")

        self.assertContains(response, "Till")
        self.assertNotContains(response, kiosk.key)


class PermissionTests(SurveyPagesTestCase):
    def roles(self):
        return {
            "admin": self.admin,
            "manager": self.manager,
            "agent": self.agent,
            "analyst": self.analyst,
            "marketer": self.marketer,
            "auditor": self.auditor,
        }

    def test_each_role_reads_or_builds_surveys_as_it_should(self):
        survey = self.draft()
        readers = {"admin", "manager", "agent", "analyst", "marketer"}
        builders = {"admin", "manager"}
        for role, user in self.roles().items():
            with self.subTest(role=role):
                self.client.force_login(user)
                expected_read = 200 if role in readers else 403
                expected_build = 200 if role in builders else 403
                self.assertEqual(self.client.get("/surveys/").status_code, expected_read)
                self.assertEqual(
                    self.client.get(f"/surveys/{survey.pk}/").status_code, expected_read
                )
                self.assertEqual(
                    self.client.get(f"/surveys/{survey.pk}/survey.json").status_code,
                    expected_read,
                )
                self.assertEqual(self.client.get("/surveys/new/").status_code, expected_build)
                self.assertEqual(
                    self.client.get(f"/surveys/{survey.pk}/edit/").status_code, expected_build
                )
                self.assertEqual(self.client.get("/surveys/import/").status_code, expected_build)

    def test_readers_cannot_change_a_survey(self):
        survey = self.draft()
        for role in ("agent", "analyst", "marketer", "auditor"):
            with self.subTest(role=role):
                self.client.force_login(self.roles()[role])
                self.assertEqual(self.client.post(f"/surveys/{survey.pk}/open/").status_code, 403)
                self.assertEqual(
                    self.client.post(f"/surveys/{survey.pk}/kiosks/", {"name": "x"}).status_code,
                    403,
                )
        survey.refresh_from_db()
        self.assertEqual(survey.status, Survey.Status.DRAFT)
        self.assertFalse(Kiosk.objects.exists())

    def test_the_outsider_gets_nothing_and_unknown_surveys_are_404(self):
        survey = self.draft()
        self.client.force_login(self.outsider)
        # No role at all: refused before any lookup, like every console area.
        self.assertEqual(self.client.get(f"/surveys/{survey.pk}/").status_code, 403)
        self.assertEqual(self.client.get("/surveys/").status_code, 403)

        self.client.force_login(self.analyst)
        self.assertEqual(self.client.get("/surveys/999999/").status_code, 404)
        self.assertEqual(self.client.get("/surveys/999999/survey.json").status_code, 404)
        self.client.force_login(self.admin)
        self.assertEqual(self.client.get("/surveys/999999/edit/").status_code, 404)
        self.assertEqual(
            self.client.post(f"/surveys/{survey.pk}/kiosks/999999/key/").status_code, 404
        )

    def test_anonymous_visitors_are_sent_to_log_in(self):
        response = self.client.get("/surveys/")
        self.assertRedirects(response, "/login/?next=/surveys/", fetch_redirect_response=False)

    def test_the_navigation_lists_surveys_for_readers(self):
        self.client.force_login(self.marketer)
        self.assertContains(self.client.get("/"), 'href="/surveys/"')
        self.client.force_login(self.auditor)
        self.assertNotContains(self.client.get("/"), 'href="/surveys/"')

    def test_every_survey_page_declares_its_permissions_and_refuses_the_outsider(self):
        survey = self.draft()
        routes = [(r, n, v) for r, n, v in console_views() if n.startswith("feedback:")]
        self.assertGreater(len(routes), 15)
        self.client.force_login(self.outsider)
        for route, name, view in routes:
            with self.subTest(name=name):
                self.assertTrue(hasattr(view, "required_permissions"))
                path = concrete(route, survey.pk)
                response = self.client.get(path)
                if response.status_code == 405:
                    response = self.client.post(path, {"name": "x", "count": "1"})
                self.assertEqual(response.status_code, 403)
        self.assertEqual(Survey.objects.count(), 1)
        self.assertFalse(Kiosk.objects.exists())
