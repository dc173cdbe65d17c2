"""The public survey pages: answering by link in steps, resuming, QR code visits and kiosks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services, steps
from cxcore.feedback.models import Answer, Invitation, Kiosk, Response
from cxcore.interactions.models import Site
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.membrane.tests.factories import grant, withdraw
from cxcore.test import BaseTestCase

NOW = datetime(2026, 3, 16, 11, 0, tzinfo=UTC)
ACTOR = Actor(via="test")


def in_language(language: str, text: str) -> str:
    """A message as a page in that language shows it (translated, then HTML-escaped)."""
    with translation.override(language):
        return escape(gettext(text))


def survey_data(**extra) -> dict:
    """Three steps: scores; then "why" (low scores only) and a yes/no; then the rest."""
    data = {
        "name": "After delivery",
        "kind": "transactional",
        "touchpoint": "delivery",
        "title_fr": "Votre livraison",
        "title_en": "Your delivery",
        "intro_fr": "Deux minutes, pas plus.",
        "intro_en": "Two minutes, no more.",
        "thanks_fr": "Merci <b>beaucoup</b> !",
        "thanks_en": "Thank you <b>so much</b>!",
        "questions": [
            {
                "key": "nps",
                "type": "nps",
                "text_fr": "Nous recommanderiez-vous ?",
                "text_en": "Would you recommend us?",
                "required": True,
            },
            {"key": "csat", "type": "csat", "text_fr": "Satisfait ?", "text_en": "Satisfied?"},
            {"key": "ces", "type": "ces", "text_fr": "Facile ?", "text_en": "Easy?"},
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
            {
                "key": "recontact",
                "type": "yes_no",
                "text_fr": "Pouvons-nous vous rappeler ?",
                "text_en": "May we call you back?",
            },
            {
                "key": "details",
                "type": "text",
                "text_fr": "Dites-nous en plus",
                "text_en": "Tell us more",
                "max_length": 200,
                "show_if": {"question": "recontact", "op": "eq", "value": True},
            },
            {
                "key": "store",
                "type": "single",
                "text_fr": "Quel magasin ?",
                "text_en": "Which store?",
                "choices": [
                    {"value": "lille", "fr": "Lille", "en": "Lille"},
                    {"value": "lyon", "fr": "Lyon", "en": "Lyons"},
                ],
            },
            {
                "key": "rating",
                "type": "rating",
                "text_fr": "Notre emballage ?",
                "text_en": "Our packaging?",
                "scale_min": 1,
                "scale_max": 10,
            },
        ],
    }
    data.update(extra)
    return data


def open_survey(**extra):
    survey = services.survey_create(actor=ACTOR, data=survey_data(**extra))
    return services.survey_open(actor=ACTOR, survey=survey)


@time_machine.travel(NOW, tick=False)
class SurveyPageTestCase(BaseTestCase):
    def setUp(self):
        cache.clear()
        self.touchpoint = make_touchpoint("delivery")
        self.customer = make_customer(
            "Léa", "Zorglub", email="lea.zorglub@example.org", language="en"
        )
        interaction = make_interaction(self.customer, self.touchpoint, NOW - timedelta(hours=2))
        self.survey = open_survey()
        self.invitation = services.invitation_create(
            survey=self.survey, channel="web", customer=self.customer, interaction=interaction
        )

    def url(self, name: str = "survey", invitation=None, query: str = "") -> str:
        token = (invitation or self.invitation).token
        return reverse(f"portal:{name}", kwargs={"token": token}) + query

    def post_step(self, step: int, data: dict | None = None, *, action="next", invitation=None):
        return self.client.post(
            self.url(invitation=invitation), {"step": str(step), "action": action, **(data or {})}
        )

    def answers(self, invitation=None) -> dict:
        response = Response.objects.get(invitation=invitation or self.invitation)
        found = {}
        for answer in Answer.objects.filter(response=response).select_related("question"):
            kind = answer.question.type
            if kind == "text":
                found[answer.question.key] = answer.text
            elif kind in ("single", "multiple"):
                found[answer.question.key] = answer.choices
            elif kind == "yes_no":
                found[answer.question.key] = answer.flag
            else:
                found[answer.question.key] = answer.number
        return found

    def assert_public_headers(self, response):
        self.assertEqual(response["Referrer-Policy"], "same-origin")
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertEqual(list(response.cookies), [])  # no session, and no CSRF cookie either

    def assert_names_no_one(self, response):
        for private in ("Léa", "Zorglub", "lea.zorglub"):
            self.assertNotContains(response, private, status_code=response.status_code)


class StepsTest(SurveyPageTestCase):
    def test_the_survey_splits_where_a_question_depends_on_the_current_step(self):
        questions = list(self.survey.questions.all())
        split = [[q.key for q in step] for step in steps.survey_steps(questions)]
        self.assertEqual(
            split, [["nps", "csat", "ces"], ["why", "recontact"], ["details", "store", "rating"]]
        )

    def test_a_changed_answer_drops_the_answers_it_no_longer_asks_for(self):
        questions = list(self.survey.questions.all())
        kept = steps.answers_kept(questions, {"nps": 9, "why": ["late"], "recontact": False})
        self.assertEqual(kept, {"nps": 9, "recontact": False})


class AnsweringTest(SurveyPageTestCase):
    def test_every_question_type_renders_and_posts(self):
        first = self.client.get(self.url())
        self.assertEqual(first.status_code, 200)
        self.assertContains(first, '<html lang="en">')
        self.assertContains(first, "Step 1 of 3")
        self.assertContains(first, "Two minutes, no more.")
        self.assertContains(first, "<legend>Would you recommend us?")
        for n in range(11):
            self.assertContains(
                first,
                f'<input type="radio" name="q_nps" id="q_nps_{n}" value="{n}">',
                html=True,
            )
        self.assertContains(first, "0 = not at all likely")
        self.assertContains(first, "10 = extremely likely")
        self.assertContains(first, "1 = very dissatisfied")
        self.assertContains(first, "5 = very satisfied")
        self.assertContains(first, 'id="q_ces_6" value="7"')
        self.assertContains(first, "7 = very easy")
        self.assertContains(first, 'aria-describedby="q_nps_hint"')
        self.assert_public_headers(first)

        moved = self.post_step(1, {"q_nps": "4", "q_csat": "2", "q_ces": "3"})
        self.assertRedirects(
            moved, self.url(query="?step=2"), status_code=303, fetch_redirect_response=False
        )
        self.assertEqual(Response.objects.get().status, Response.Status.PARTIAL)

        second = self.client.get(self.url(query="?step=2"))
        self.assertContains(second, "Step 2 of 3")
        self.assertContains(
            second,
            '<input type="checkbox" name="q_why" id="q_why_0" value="late">',
            html=True,
        )
        self.assertContains(
            second,
            '<input type="radio" name="q_recontact" id="q_recontact_0" value="yes">',
            html=True,
        )
        self.assertContains(second, "Choose as many as you like.")
        self.post_step(2, {"q_why": ["late", "damaged"], "q_recontact": "yes"})

        third = self.client.get(self.url(query="?step=3"))
        self.assertContains(third, "Step 3 of 3")
        self.assertContains(third, 'maxlength="200"')
        self.assertContains(third, "At most 200 characters.")
        self.assertContains(
            third,
            '<input type="radio" name="q_store" id="q_store_1" value="lyon">',
            html=True,
        )
        self.assertContains(third, "1 = very poor")
        self.assertContains(third, "10 = excellent")
        self.assertContains(third, "Send my answers")

        done = self.post_step(3, {"q_details": "Box\r\nopen", "q_store": "lyon", "q_rating": "8"})
        self.assertRedirects(
            done, self.url("survey_thanks"), status_code=303, fetch_redirect_response=False
        )
        response = Response.objects.get()
        self.assertEqual(response.status, Response.Status.COMPLETE)
        self.assertEqual((response.nps, response.nps_category), (4, "detractor"))
        self.assertEqual(
            self.answers(),
            {
                "nps": 4,
                "csat": 2,
                "ces": 3,
                "why": ["late", "damaged"],
                "recontact": True,
                "details": "Box\nopen",
                "store": ["lyon"],
                "rating": 8,
            },
        )

    def test_errors_are_summarised_and_linked_to_their_question(self):
        response = self.post_step(1, {"q_csat": "9"})

        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "<title>Error:", status_code=422)
        self.assertContains(response, 'class="error-summary"', status_code=422)
        self.assertContains(
            response,
            '<a href="#q_nps_0">Would you recommend us?: This question needs an answer.</a>',
            html=True,
            status_code=422,
        )
        self.assertContains(response, '<a href="#q_csat_0">', status_code=422)
        self.assertContains(response, 'aria-describedby="q_nps_hint q_nps_error"', status_code=422)
        self.assertContains(response, 'id="q_nps_error"', status_code=422)
        self.assertContains(
            response,
            '<input type="radio" name="q_nps" id="q_nps_0" value="0" aria-invalid="true">',
            html=True,
            status_code=422,
        )
        self.assertFalse(Response.objects.exists())

    def test_a_text_too_long_is_refused_next_to_its_box(self):
        self.post_step(1, {"q_nps": "9"})
        self.post_step(2, {"q_recontact": "yes"})
        response = self.post_step(3, {"q_details": "x" * 201})

        self.assertContains(response, '<a href="#q_details">', status_code=422)
        self.assertContains(response, 'aria-invalid="true"', status_code=422)
        self.assertContains(
            response, 'aria-describedby="q_details_hint q_details_error"', status_code=422
        )
        self.assertEqual(Response.objects.get().status, Response.Status.PARTIAL)

    def test_why_is_asked_only_after_a_low_score(self):
        high = self.client.get(self.post_step(1, {"q_nps": "9"})["Location"])
        self.assertNotContains(high, "What went wrong?")
        self.assertContains(high, "May we call you back?")

        low = self.client.get(self.client.post(self.url(), {"step": "1", "q_nps": "3"})["Location"])
        self.assertContains(low, "What went wrong?")

    def test_the_step_of_a_follow_up_question_is_skipped_when_not_asked(self):
        self.post_step(1, {"q_nps": "9"})
        self.post_step(2, {"q_recontact": "no"})
        third = self.client.get(self.url())
        self.assertContains(third, "Step 3 of 3")
        self.assertNotContains(third, "Tell us more")
        self.assertContains(third, "Which store?")

    def test_a_changed_score_forgets_the_answers_no_longer_asked(self):
        self.post_step(1, {"q_nps": "2"})
        self.post_step(2, {"q_why": ["late"]})
        self.assertIn("why", self.answers())

        self.post_step(1, {"q_nps": "10"})
        self.assertNotIn("why", self.answers())

    def test_a_partial_save_shows_until_when_and_resumes_prefilled(self):
        self.post_step(1, {"q_nps": "3"})
        saved = self.post_step(2, {"q_why": ["late"]}, action="save")
        self.assertRedirects(
            saved, self.url("survey_saved"), status_code=303, fetch_redirect_response=False
        )
        self.assertEqual(Response.objects.get().status, Response.Status.PARTIAL)

        page = self.client.get(self.url("survey_saved", query="?lang=fr"))
        with translation.override("fr"), timezone.override("Europe/Paris"):
            day = formats.date_format(timezone.localtime(self.invitation.expires_at), "DATE_FORMAT")
        self.assertIn("avril", day)
        self.assertContains(page, day)
        self.assert_public_headers(page)

        resumed = self.client.get(self.url())
        self.assertContains(resumed, "Step 2 of 3")
        self.assertContains(
            resumed,
            '<input type="checkbox" name="q_why" id="q_why_0" value="late" checked>',
            html=True,
        )
        self.assertNotContains(resumed, "Would you recommend us?")
        self.assertContains(resumed, "Back to the previous step")

        back = self.client.get(self.url(query="?step=1"))
        self.assertContains(
            back, '<input type="radio" name="q_nps" id="q_nps_3" value="3" checked>', html=True
        )

    def test_a_step_cannot_be_skipped_past_a_required_answer(self):
        page = self.client.get(self.url(query="?step=3"))
        self.assertContains(page, "Step 1 of 3")
        response = self.post_step(3, {"q_store": "lyon"})
        self.assertEqual(response.status_code, 303)
        self.assertFalse(Response.objects.exists())

    def test_script_typed_in_a_text_is_kept_as_typed_and_shown_escaped(self):
        typed = '<script>alert("hi")</script> & <b>bold</b>'
        self.post_step(1, {"q_nps": "9"})
        self.post_step(2, {"q_recontact": "yes"})
        self.post_step(3, {"q_details": typed}, action="save")
        self.assertEqual(self.answers()["details"], typed)

        resumed = self.client.get(self.url(query="?step=3"))
        self.assertContains(resumed, escape(typed))
        self.assertNotContains(resumed, "<script>")
        self.assertNotContains(resumed, "<b>bold")

    def test_the_last_step_sent_twice_gives_one_response_and_an_answered_page(self):
        self.post_step(1, {"q_nps": "9"})
        self.post_step(2, {"q_recontact": "no"})
        self.post_step(3, {"q_store": "lille"})
        again = self.post_step(3, {"q_store": "lyon"})

        self.assertEqual(again.status_code, 410)
        self.assertContains(again, "You already answered", status_code=410)
        self.assertContains(again, "nothing more to do", status_code=410)
        self.assertEqual(Response.objects.count(), 1)
        self.assertEqual(self.answers()["store"], ["lille"])
        self.assert_names_no_one(again)

    def test_the_page_speaks_the_invitations_language_and_switches_by_link(self):
        self.invitation.language = "fr"
        self.invitation.save()
        french = self.client.get(self.url())
        self.assertContains(french, '<html lang="fr">')
        self.assertContains(french, "Nous recommanderiez-vous ?")
        self.assertContains(french, in_language("fr", "Save and finish later"))
        self.assertContains(french, '<a href="?lang=en" lang="en" hreflang="en">English</a>')
        self.assertEqual(french["Content-Language"], "fr")

        english = self.client.get(self.url(query="?lang=en"))
        self.assertContains(english, '<html lang="en">')
        self.assertContains(english, "Would you recommend us?")
        self.assertContains(english, in_language("en", "Save and finish later"))
        self.assertContains(english, 'action="?lang=en"'.replace("?", self.url() + "?"))

        moved = self.client.post(self.url(query="?lang=en"), {"step": "1", "q_nps": "9"})
        self.assertEqual(moved["Location"], self.url(query="?step=2&lang=en"))

    def test_a_browser_post_without_referrer_is_accepted(self):
        # No CSRF cookie was ever set (no cookie at all), and privacy settings may hide the
        # origin: the token in the URL is the key.
        client = Client(enforce_csrf_checks=True)
        response = client.post(self.url(), {"step": "1", "q_nps": "9"}, HTTP_ORIGIN="null")
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.answers(), {"nps": 9})

    def test_no_page_sets_a_cookie(self):
        for response in (
            self.client.get(self.url()),
            self.post_step(1, {"q_nps": "9"}),
            self.post_step(2, {}, action="save"),
            self.client.get(self.url("survey_saved")),
            self.client.get(self.url(query="?step=3")),
            self.post_step(3, {}),
            self.client.get(self.url("survey_thanks")),
            self.client.get(self.url()),
        ):
            self.assert_public_headers(response)
        self.assertEqual(list(self.client.cookies), [])


class ThanksTest(SurveyPageTestCase):
    def complete(self, invitation=None):
        services.response_submit(
            token=(invitation or self.invitation).token, answers={"nps": 10}, complete=True
        )

    def test_it_thanks_in_the_surveys_words_escaped_and_says_what_happens_next(self):
        self.complete()
        response = self.client.get(self.url("survey_thanks"))

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Thank you &lt;b&gt;so much&lt;/b&gt;!")
        self.assertContains(response, "We read every answer.")
        self.assertNotContains(response, "We will tell you what we did")
        self.assert_public_headers(response)
        self.assert_names_no_one(response)

    def test_it_promises_news_only_to_a_customer_who_agreed_to_hear_from_us(self):
        grant(self.customer, "feedback", "email")
        self.complete()
        response = self.client.get(self.url("survey_thanks"))
        self.assertContains(response, "We will tell you what we did with your feedback.")

        withdraw(self.customer, "feedback", "email")
        response = self.client.get(self.url("survey_thanks"))
        self.assertNotContains(response, "We will tell you what we did")

    def test_an_unfinished_survey_has_no_thank_you_yet(self):
        response = self.client.get(self.url("survey_thanks"))
        self.assertRedirects(response, self.url(), status_code=303, fetch_redirect_response=False)


class UnavailableLinkTest(SurveyPageTestCase):
    def assert_unavailable(self, response, status: int, text: str):
        self.assertEqual(response.status_code, status)
        self.assertContains(response, text, status_code=status)
        self.assert_public_headers(response)
        self.assert_names_no_one(response)
        self.assertNotContains(response, "<form", status_code=status)

    def test_an_unknown_link_is_not_found(self):
        self.assert_unavailable(
            self.client.get(reverse("portal:survey", args=["no-such-token"])),
            404,
            "This link is not valid.",
        )

    def test_an_expired_link_is_gone(self):
        with time_machine.travel(NOW + timedelta(days=31), tick=False):
            self.assert_unavailable(self.client.get(self.url()), 410, "This link has expired")
            response = self.post_step(1, {"q_nps": "9"})
            self.assert_unavailable(response, 410, "This link has expired")
        self.assertFalse(Response.objects.exists())

    def test_an_answered_link_says_thank_you(self):
        services.response_submit(token=self.invitation.token, answers={"nps": 9}, complete=True)
        self.assert_unavailable(self.client.get(self.url()), 410, "You already answered")
        self.assert_unavailable(
            self.client.get(self.url("survey_saved")), 410, "You already answered"
        )

    def test_a_closed_survey_is_gone(self):
        services.survey_close(actor=ACTOR, survey=self.survey)
        self.assert_unavailable(self.client.get(self.url()), 410, "not taking answers")
        self.assert_unavailable(self.post_step(1, {"q_nps": "9"}), 410, "not taking answers")
        self.assertFalse(Response.objects.exists())

    def test_the_pages_speak_the_invitations_language(self):
        self.invitation.language = "fr"
        self.invitation.save()
        services.survey_close(actor=ACTOR, survey=self.survey)
        response = self.client.get(self.url())
        self.assertContains(response, '<html lang="fr">', status_code=410)
        self.assertContains(
            response,
            in_language("fr", "This survey is not taking answers at the moment."),
            status_code=410,
        )


@time_machine.travel(NOW, tick=False)
class QrCodeTest(BaseTestCase):
    def setUp(self):
        cache.clear()
        make_touchpoint("delivery")
        self.survey = open_survey()
        self.url = reverse("portal:survey_qr", kwargs={"public_code": self.survey.public_code})

    def test_the_poster_link_shows_the_survey_and_creates_nothing(self):
        response = self.client.get(self.url, HTTP_ACCEPT_LANGUAGE="fr")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Votre livraison")
        self.assertContains(response, "Deux minutes, pas plus.")
        self.assertContains(response, '<form method="post"')
        self.assertContains(response, in_language("fr", "Start"))
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(response["Referrer-Policy"], "same-origin")
        self.assertNotIn(settings.SESSION_COOKIE_NAME, response.cookies)

    def test_start_makes_one_anonymous_invitation_and_goes_to_it(self):
        response = self.client.post(self.url + "?lang=en")

        invitation = Invitation.objects.get()
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response["Location"], reverse("portal:survey", args=[invitation.token]))
        self.assertEqual((invitation.channel, invitation.language), ("qr", "en"))
        self.assertIsNone(invitation.customer)
        page = self.client.get(response["Location"])
        self.assertContains(page, "Would you recommend us?")

    def test_starts_from_one_address_are_limited(self):
        for _ in range(20):
            self.assertEqual(
                self.client.post(self.url, REMOTE_ADDR="198.51.100.7").status_code, 303
            )
        refused = self.client.post(self.url, REMOTE_ADDR="198.51.100.7")

        self.assertEqual(refused.status_code, 429)
        self.assertContains(refused, "Please wait a minute", status_code=429)
        self.assertEqual(Invitation.objects.count(), 20)
        other = self.client.post(self.url, REMOTE_ADDR="198.51.100.8")
        self.assertEqual(other.status_code, 303)

    def test_unknown_and_closed_codes_get_friendly_pages(self):
        unknown = self.client.get(reverse("portal:survey_qr", args=["nope"]))
        self.assertContains(unknown, "This link is not valid.", status_code=404)
        self.assertEqual(
            self.client.post(reverse("portal:survey_qr", args=["nope"])).status_code, 404
        )

        services.survey_close(actor=ACTOR, survey=self.survey)
        self.assertContains(self.client.get(self.url), "not taking answers", status_code=410)
        self.assertEqual(self.client.post(self.url).status_code, 410)
        self.assertFalse(Invitation.objects.exists())

    def test_the_qr_image_encodes_the_absolute_poster_link(self):
        response = self.client.get(
            reverse("portal:survey_qr_image", kwargs={"public_code": self.survey.public_code})
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "image/svg+xml")
        body = response.content.decode()
        self.assertIn("<svg", body)
        self.assertIn(f"<title>{settings.SITE_URL.rstrip('/')}{self.url}</title>", body)
        missing = self.client.get(reverse("portal:survey_qr_image", args=["nope"]))
        self.assertEqual(missing.status_code, 404)


@time_machine.travel(NOW, tick=False)
class KioskTest(BaseTestCase):
    def setUp(self):
        cache.clear()
        make_touchpoint("delivery")
        self.survey = open_survey()
        self.site = Site.objects.create(code="lille", name="Lille", kind="store")
        self.kiosk = Kiosk.objects.create(
            name="Lille entrance",
            survey=self.survey,
            site=self.site,
            key="k" * 40,
            max_per_minute=2,
        )
        self.url = reverse("portal:kiosk", kwargs={"key": self.kiosk.key})

    def start(self):
        response = self.client.post(self.url)
        self.assertEqual(response.status_code, 303)
        return Invitation.objects.latest("pk"), response["Location"]

    def test_the_start_screen_offers_a_big_button_in_both_languages(self):
        response = self.client.get(self.url + "?lang=fr")
        self.assertContains(response, in_language("fr", "Give your opinion"))
        self.assertContains(response, 'class="button button-big"')
        self.assertContains(response, '<a href="?lang=en" lang="en" hreflang="en">English</a>')
        self.assertFalse(Invitation.objects.exists())

    def test_an_answer_at_the_kiosk_counts_for_its_site_and_the_screen_resets(self):
        invitation, location = self.start()
        self.assertEqual(invitation.channel, "kiosk")
        step = self.client.get(location)
        self.assertNotContains(step, "Save and finish later")
        self.assertContains(step, f'content="600;url={self.url}"')

        self.client.post(location, {"step": "1", "q_nps": "9"})
        self.client.post(location, {"step": "2", "q_recontact": "yes"})
        done = self.client.post(location, {"step": "3", "q_details": "Lovely staff"})
        thanks = self.client.get(done["Location"])

        response = Response.objects.get()
        self.assertEqual(response.status, Response.Status.COMPLETE)
        self.assertEqual((response.site, response.channel), (self.site, "kiosk"))
        self.assertContains(thanks, f'<meta http-equiv="refresh" content="10;url={self.url}">')
        self.assertContains(thanks, f'href="{self.url}"')
        # The previous person's page is gone: the link now only says it was answered.
        back = self.client.get(location)
        self.assertContains(back, "You already answered", status_code=410)
        self.assertNotContains(back, "Lovely staff", status_code=410)
        start = self.client.get(self.url)
        self.assertNotContains(start, "Lovely staff")

    def test_too_many_starts_in_a_minute_ask_to_wait(self):
        self.start()
        self.start()
        refused = self.client.post(self.url)

        self.assertEqual(refused.status_code, 429)
        self.assertContains(refused, "Please wait a minute", status_code=429)
        self.assertContains(refused, f'content="60;url={self.url}"', status_code=429)
        self.assertEqual(Invitation.objects.count(), 2)

    def test_a_retired_kiosk_is_not_found(self):
        self.kiosk.active = False
        self.kiosk.save()
        self.assertEqual(self.client.get(self.url).status_code, 404)
        self.assertEqual(self.client.post(self.url).status_code, 404)
        self.assertFalse(Invitation.objects.exists())
