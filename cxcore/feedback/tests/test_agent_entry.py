"""Agents key in answers: from a paper questionnaire's code, or while on the phone."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cxcore.customers.models import AuditEntry
from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services
from cxcore.feedback.models import Answer, Invitation, Response
from cxcore.feedback.tests.test_staff_pages import SurveyPagesTestCase
from cxcore.feedback.tests.test_surveys import ACTOR
from cxcore.interactions.tests.factories import make_interaction


def dashed_lower(code: str) -> str:
    """How an agent might type a code: lower case, a dash and spaces."""
    return f" {code[:5].lower()} - {code[5:].lower()} "


class PaperEntryTests(SurveyPagesTestCase):
    def setUp(self):
        super().setUp()
        self.survey = self.opened()
        self.invitation = services.paper_invitations_create(
            actor=ACTOR, survey=self.survey, count=1, language="en"
        )[0]

    def test_it_finds_the_questionnaire_by_its_code_however_typed(self):
        self.client.force_login(self.agent)

        response = self.client.post(
            "/surveys/entry/", {"short_code": dashed_lower(self.invitation.short_code)}
        )

        self.assertRedirects(response, f"/surveys/entry/{self.invitation.short_code}/")
        page = self.client.get(response["Location"])
        self.assertContains(page, "Would you recommend us?")  # in the invitation's language
        self.assertContains(page, services.short_code_display(self.invitation.short_code))

    def test_a_wrong_code_is_an_error_on_the_code(self):
        self.client.force_login(self.agent)

        response = self.client.post("/surveys/entry/", {"short_code": "ABCDE-FGHJK"})

        self.assertEqual(response.status_code, 400)
        self.assertIn("short_code", response.context["form"].errors)
        self.assertEqual(self.client.get("/surveys/entry/ABCDEFGHJK/").status_code, 404)

    def test_it_saves_paper_answers_with_an_audit_line(self):
        self.client.force_login(self.agent)
        url = f"/surveys/entry/{self.invitation.short_code.lower()}/"

        response = self.client.post(url, {"nps": "4", "why": ["late"], "comment": "Cold"})

        self.assertRedirects(response, "/surveys/entry/")
        saved = Response.objects.get()
        self.assertEqual(saved.channel, "paper")
        self.assertEqual(saved.status, Response.Status.COMPLETE)
        self.assertEqual((saved.nps, saved.language), (4, "en"))
        self.assertEqual(Answer.objects.get(response=saved, question__key="why").choices, ["late"])
        entry = AuditEntry.objects.get(action="response_entered")
        self.assertEqual((entry.actor, entry.target), (self.agent, f"response:{saved.pk}"))

    def test_it_shows_each_problem_under_its_question(self):
        self.client.force_login(self.agent)
        url = f"/surveys/entry/{self.invitation.short_code}/"

        # "nps" is required, and "why" is asked only of detractors.
        response = self.client.post(url, {"why": ["late"], "comment": "x"})
        branching = self.client.post(url, {"nps": "10", "why": ["late"]})

        self.assertEqual(response.status_code, 400)
        self.assertIn("nps", response.context["form"].errors)
        self.assertIn("why", branching.context["form"].errors)
        self.assertNotIn("nps", branching.context["form"].errors)
        self.assertFalse(Response.objects.exists())

    def test_an_answered_questionnaire_cannot_be_keyed_in_again(self):
        services.response_enter(
            actor=ACTOR, invitation=self.invitation, answers={"nps": 9}, channel="paper"
        )
        self.client.force_login(self.agent)

        response = self.client.post("/surveys/entry/", {"short_code": self.invitation.short_code})
        direct = self.client.post(f"/surveys/entry/{self.invitation.short_code}/", {"nps": "3"})

        self.assertEqual(response.status_code, 400)
        self.assertIn("already", response.context["form"].errors["short_code"][0])
        self.assertRedirects(direct, "/surveys/entry/")
        self.assertEqual(Response.objects.get().nps, 9)

    def test_a_closed_survey_takes_no_more_answers(self):
        services.survey_close(actor=ACTOR, survey=self.survey)
        self.client.force_login(self.agent)

        response = self.client.post("/surveys/entry/", {"short_code": self.invitation.short_code})

        self.assertEqual(response.status_code, 400)
        self.assertFalse(Response.objects.exists())

    def test_only_those_who_enter_answers_may(self):
        url = f"/surveys/entry/{self.invitation.short_code}/"
        expected = {
            self.admin: 200,
            self.manager: 200,
            self.agent: 200,
            self.analyst: 403,
            self.marketer: 403,
            self.auditor: 403,
            self.outsider: 403,
        }
        for user, status in expected.items():
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get("/surveys/entry/").status_code, status)
                self.assertEqual(self.client.get(url).status_code, status)
        self.client.force_login(self.analyst)
        self.assertEqual(self.client.post(url, {"nps": "5"}).status_code, 403)
        self.assertFalse(Response.objects.exists())


class PhoneEntryTests(SurveyPagesTestCase):
    def setUp(self):
        super().setUp()
        self.survey = self.opened()
        self.customer = make_customer("Léa", "Roux", email="lea@example.org", language="fr")
        self.interaction = make_interaction(
            self.customer, self.touchpoint, timezone.now() - timedelta(hours=1)
        )

    def url(self, interaction=True):
        url = f"/surveys/phone/?customer={self.customer.pk}"
        return f"{url}&interaction={self.interaction.pk}" if interaction else url

    def test_it_starts_a_phone_survey_and_saves_the_answers_as_phone(self):
        self.client.force_login(self.agent)

        page = self.client.get(self.url())
        self.assertContains(page, "Léa Roux")
        started = self.client.post(self.url(), {"survey": self.survey.pk})

        invitation = Invitation.objects.get()
        self.assertRedirects(started, f"/surveys/entry/{invitation.short_code}/")
        self.assertEqual(invitation.channel, "phone")
        self.assertEqual(
            (invitation.customer, invitation.interaction), (self.customer, self.interaction)
        )
        form = self.client.get(started["Location"])
        self.assertContains(form, "Recommanderiez-vous ?")  # the customer's language

        saved = self.client.post(started["Location"], {"nps": "10"}, follow=True)

        self.assertRedirects(saved, "/surveys/entry/")
        self.assertContains(saved, f'href="/customers/{self.customer.pk}/"')
        response = Response.objects.get()
        self.assertEqual(response.channel, "phone")
        self.assertEqual(
            (response.customer, response.interaction), (self.customer, self.interaction)
        )
        self.assertTrue(AuditEntry.objects.filter(action="response_entered").exists())

    def test_it_starts_without_an_interaction_too(self):
        self.client.force_login(self.manager)

        self.client.post(self.url(interaction=False), {"survey": self.survey.pk})

        self.assertIsNone(Invitation.objects.get().interaction)

    def test_it_refuses_a_second_survey_about_the_same_interaction(self):
        services.invitation_create(
            survey=self.survey, channel="web", customer=self.customer, interaction=self.interaction
        )
        self.client.force_login(self.agent)

        response = self.client.post(self.url(), {"survey": self.survey.pk})

        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.context["form"].non_field_errors())
        self.assertEqual(Invitation.objects.count(), 1)

    def test_only_open_surveys_are_offered(self):
        draft = self.draft(name="Not yet")
        self.client.force_login(self.agent)

        response = self.client.post(self.url(), {"survey": draft.pk})

        self.assertEqual(response.status_code, 400)
        self.assertIn("survey", response.context["form"].errors)
        self.assertFalse(Invitation.objects.exists())

    def test_unknown_customer_or_someone_elses_interaction_is_404(self):
        other = make_customer("Paul", "Durand")
        self.client.force_login(self.agent)

        self.assertEqual(self.client.get("/surveys/phone/").status_code, 404)
        self.assertEqual(self.client.get("/surveys/phone/?customer=999999").status_code, 404)
        self.assertEqual(
            self.client.get(
                f"/surveys/phone/?customer={other.pk}&interaction={self.interaction.pk}"
            ).status_code,
            404,
        )

    def test_roles_without_entry_are_refused(self):
        for user in (self.analyst, self.marketer, self.auditor, self.outsider):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get(self.url()).status_code, 403)
                self.assertNotContains(self.client.get(self.url()), "Roux", status_code=403)
