"""Builders shared by the text area's tests: surveys whose comments carry a score."""

from itertools import count

from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services as feedback_services
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.text import services

ACTOR = Actor(via="test")
_numbers = count(1)

# A made-up product and made-up words for good and bad: only the company's own comments can
# teach the model what "flimbo" and "gronk" mean, so the adapted model reads them better.
FLIMBO = [
    "Mon zorblax de la boutique est tout à fait flimbo, comme le dit mon voisin ({}).",
    "Le zorblax que j'ai reçu est flimbo, vraiment flimbo de bout en bout ({}).",
]
GRONK = [
    "Mon zorblax de la boutique est tout à fait gronk, comme le dit mon voisin ({}).",
    "Le zorblax que j'ai reçu est gronk, vraiment gronk de bout en bout ({}).",
]


def survey_with_comment():
    """An open survey asking an NPS score and a comment."""
    code = f"survey-{next(_numbers)}"
    make_touchpoint(code)
    survey = feedback_services.survey_create(
        actor=ACTOR,
        data={
            "name": "After the visit",
            "kind": "transactional",
            "touchpoint": code,
            "title_fr": "Votre visite",
            "title_en": "Your visit",
            "questions": [
                {"key": "nps", "type": "nps", "text_fr": "Note ?", "text_en": "Score?"},
                {"key": "comment", "type": "text", "text_fr": "Pourquoi ?", "text_en": "Why?"},
            ],
        },
    )
    return feedback_services.survey_open(actor=ACTOR, survey=survey)


def comments_answered(survey, comments: list[tuple[str, int]], *, read: bool = True) -> None:
    """A complete response per (comment, NPS score); comments read and stored if `read`."""
    answer_ids = []
    for comment, nps in comments:
        invitation = feedback_services.invitation_create(
            survey=survey, channel="web", customer=make_customer("Paul", "Marin")
        )
        response = feedback_services.response_submit(
            token=invitation.token, answers={"nps": nps, "comment": comment}, complete=True
        )
        answer_ids += list(response.answers.values_list("pk", flat=True))
    if read:
        services.analyses_store_for_answers(answer_ids)


def scored_comments(good: list[str], bad: list[str], count: int = 80) -> list[tuple[str, int]]:
    """Half promoters, half detractors, each comment different."""
    return [
        (
            (good if n % 2 == 0 else bad)[(n // 2) % 2].format(f"commande {1000 + n}"),
            10 if n % 2 == 0 else 2,
        )
        for n in range(count)
    ]
