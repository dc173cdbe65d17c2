"""A customer on a phone answers a survey in three steps with the keyboard alone."""

import pytest
from django.urls import reverse

from cxcore.feedback import services
from cxcore.feedback.models import Response
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import CHROMIUM_MISSING, chromium_available

# Playwright's own phone profiles are 360 to 412 pixels wide; the narrowest is the test.
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not chromium_available(), reason=CHROMIUM_MISSING),
]


@pytest.fixture
def invitation():
    make_touchpoint("delivery")
    survey = services.survey_create(
        actor=Actor(via="test"),
        data={
            "name": "After delivery",
            "kind": "transactional",
            "touchpoint": "delivery",
            "title_fr": "Votre livraison",
            "title_en": "Your delivery",
            "thanks_en": "Thanks for helping us deliver better.",
            "questions": [
                {
                    "key": "nps",
                    "type": "nps",
                    "text_fr": "Nous recommanderiez-vous ?",
                    "text_en": "Would you recommend us?",
                    "required": True,
                },
                {
                    "key": "why",
                    "type": "single",
                    "text_fr": "Qu'est-ce qui n'allait pas ?",
                    "text_en": "What went wrong?",
                    "choices": [
                        {"value": "late", "fr": "En retard", "en": "Late"},
                        {"value": "damaged", "fr": "Abîmé", "en": "Damaged"},
                    ],
                    "show_if": {"question": "nps", "op": "lte", "value": 6},
                },
                {
                    "key": "comment",
                    "type": "text",
                    "text_fr": "Racontez-nous",
                    "text_en": "Tell us what happened",
                    "max_length": 500,
                    "show_if": {"question": "why", "op": "in", "value": ["late", "damaged"]},
                },
            ],
        },
    )
    survey = services.survey_open(actor=Actor(via="test"), survey=survey)
    return services.invitation_create(survey=survey, channel="sms", language="en")


def tab_to(page, selector: str, *, most: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_customer_answers_three_steps_on_a_phone_with_the_keyboard_only(
    invitation,  # first: its ORM calls must not run inside Playwright's event loop
    live_server,
    browser,
):
    context = browser.new_context(locale="en", **PHONE)
    page = context.new_page()
    page.set_default_timeout(60_000)  # generous: CI machines are small and may be busy
    page.goto(live_server.url + reverse("portal:survey", args=[invitation.token]))
    page.get_by_text("Step 1 of 3").wait_for()
    assert fits_the_screen(page)

    # A score: Tab into the group, arrows move the choice along the scale.
    tab_to(page, "#q_nps_0")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.is_checked("#q_nps_3")
    tab_to(page, "button[value=next]")
    page.keyboard.press("Enter")

    # A choice, asked only after a low score: Space picks the focused one.
    page.get_by_text("Step 2 of 3").wait_for()
    assert page.get_by_text("What went wrong?").is_visible()
    assert fits_the_screen(page)
    tab_to(page, "#q_why_0")
    page.keyboard.press("Space")
    assert page.is_checked("#q_why_0")
    tab_to(page, "button[value=next]")
    page.keyboard.press("Enter")

    # A text, then the answers are sent.
    page.get_by_text("Step 3 of 3").wait_for()
    tab_to(page, "#q_comment")
    page.keyboard.type("The parcel came <two> days late.")
    tab_to(page, "button[value=next]")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Send my answers"
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Thank you").wait_for()
    assert page.get_by_text("Thanks for helping us deliver better.").is_visible()
    assert fits_the_screen(page)
    context.close()

    response = Response.objects.get(invitation=invitation)
    answers = {
        answer.question.key: (answer.number, answer.choices, answer.text)
        for answer in response.answers.select_related("question")
    }
    assert response.status == Response.Status.COMPLETE
    assert answers == {
        "nps": (3, [], ""),
        "why": (None, ["late"], ""),
        "comment": (None, [], "The parcel came <two> days late."),
    }
