"""The demo company's surveys: three open surveys, a trigger, a kiosk, and months of answers.

Answers follow what happened: a late parcel (Colis Express, mostly) or an unanswered call at
the Lille store gives low scores and complaints, a smooth visit gives promoters. They arrive by
every channel (web, SMS, paper, phone, kiosk, QR). Surveys found by name are left alone, so
a second run writes nothing new.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction

from cxcore.feedback import services
from cxcore.feedback.models import AnswerChannel, Invitation, Kiosk, Survey, SurveyTrigger
from cxcore.interactions.models import Interaction, Site, Touchpoint
from cxcore.lib.actor import Actor
from cxcore.membrane.models import Message

ACTOR = Actor(via="demo")
# Written with the other demo messages (cxcore/demo.py), with "{survey_link}" in its text.
MESSAGE_NAME = "How did we do?"


def _q(key, kind, fr, en, **extra) -> dict:
    return {"key": key, "type": kind, "text_fr": fr, "text_en": en, **extra}


def _choice(value, fr, en) -> dict:
    return {"value": value, "fr": fr, "en": en}


NPS = _q(
    "nps",
    "nps",
    "Recommanderiez-vous notre enseigne à un proche ?",
    "How likely are you to recommend us to a friend?",
    required=True,
)
COMMENT = _q(
    "comment",
    "text",
    "Qu'est-ce qui explique votre note ?",
    "What is the main reason for your score?",
    max_length=2000,
)
SURVEYS = [
    {
        "name": "After delivery",
        "kind": "transactional",
        "touchpoint": "delivery-colis-express",
        "title_fr": "Votre livraison",
        "title_en": "Your delivery",
        "intro_fr": "Quelques questions sur la livraison de votre commande.",
        "intro_en": "A few questions about the delivery of your order.",
        "thanks_fr": "Merci ! Nous transmettons vos remarques à notre transporteur.",
        "thanks_en": "Thank you! We pass your remarks on to our carrier.",
        "questions": [
            NPS,
            _q(
                "why",
                "multiple",
                "Qu'est-ce qui n'allait pas ?",
                "What went wrong?",
                choices=[
                    _choice("late", "Livré en retard", "Delivered late"),
                    _choice("damaged", "Colis abîmé", "Damaged parcel"),
                    _choice("tracking", "Suivi introuvable", "No tracking"),
                    _choice("courier", "Accueil du livreur", "The courier's manner"),
                ],
                show_if={"question": "nps", "op": "lte", "value": 6},
            ),
            _q(
                "effort",
                "ces",
                "Recevoir votre colis a été facile.",
                "Getting your parcel was easy.",
            ),
            COMMENT,
        ],
    },
    {
        "name": "Store visit Paris Rivoli",
        "kind": "transactional",
        "touchpoint": "store-paris-rivoli",
        "title_fr": "Votre visite en magasin",
        "title_en": "Your visit to our store",
        "thanks_fr": "Merci pour votre visite et pour votre avis.",
        "thanks_en": "Thank you for your visit and your opinion.",
        "questions": [
            _q(
                "csat",
                "csat",
                "Êtes-vous satisfait de votre visite ?",
                "How satisfied are you with your visit?",
                required=True,
            ),
            _q(
                "welcome",
                "rating",
                "Comment notez-vous l'accueil du personnel ?",
                "How do you rate the staff's welcome?",
                scale_min=1,
                scale_max=5,
            ),
            _q(
                "found",
                "yes_no",
                "Avez-vous trouvé ce que vous cherchiez ?",
                "Did you find what you were looking for?",
            ),
            COMMENT,
        ],
    },
    {
        "name": "Relationship 2026",
        "kind": "relationship",
        "title_fr": "Vous et nous en 2026",
        "title_en": "You and us in 2026",
        "questions": [
            NPS,
            _q(
                "main",
                "single",
                "Par quel canal achetez-vous le plus souvent ?",
                "Where do you shop most often?",
                choices=[
                    _choice("store", "En magasin", "In store"),
                    _choice("web", "Sur le site", "On the website"),
                    _choice("app", "Sur l'application", "In the app"),
                ],
            ),
            COMMENT,
        ],
    },
]

COMMENTS = {
    ("fr", "detractor"): [
        "Colis livré avec trois jours de retard, personne ne m'a prévenu.",
        "Le colis est arrivé abîmé et le service client ne répond pas.",
        "Impossible de joindre le magasin par téléphone.",
        "Attente beaucoup trop longue en caisse.",
    ],
    ("fr", "passive"): [
        "Correct, mais la livraison pourrait être plus rapide.",
        "Bon produit, suivi de commande à améliorer.",
    ],
    ("fr", "promoter"): [
        "Livraison rapide et livreur très aimable, merci !",
        "Vendeuse de très bon conseil, je reviendrai.",
        "Tout était parfait.",
    ],
    ("en", "detractor"): [
        "My parcel arrived three days late and nobody told me.",
        "The box was damaged and customer service never answered.",
        "Nobody picks up the phone at the store.",
    ],
    ("en", "passive"): [
        "Fine, but delivery could be faster.",
        "Good product, tracking could be better.",
    ],
    ("en", "promoter"): [
        "Quick delivery and a friendly courier, thank you!",
        "Very helpful staff, I will come back.",
    ],
}
CHANNELS = [
    (AnswerChannel.WEB, 55),
    (AnswerChannel.SMS, 15),
    (AnswerChannel.PAPER, 8),
    (AnswerChannel.PHONE, 7),
    (AnswerChannel.QR, 10),
    (AnswerChannel.KIOSK, 5),
]
BAD_OUTCOMES = {"late", "damaged", "missed", "unanswered", "long_wait", "unresolved", "complaint"}


def demo_feedback(*, seed: int, now: datetime) -> dict:
    """Open the demo surveys, their invitation message, a trigger and a kiosk, with answers."""
    rng = random.Random(f"cxcore-demo:{seed}:feedback")
    if Survey.objects.filter(name__in=[s["name"] for s in SURVEYS]).exists():
        return {"surveys": 0, "responses": 0}
    message = Message.objects.filter(name=MESSAGE_NAME, purpose="feedback").first()
    responses = 0
    with transaction.atomic():
        for data in SURVEYS:
            survey = services.survey_create(actor=ACTOR, data=data)
            survey.invitation_message = message
            survey.save(update_fields=["invitation_message"])
            services.survey_open(actor=ACTOR, survey=survey)
            responses += _history(rng, survey, now)
        delivery = Survey.objects.get(name="After delivery")
        SurveyTrigger.objects.create(
            survey=delivery,
            touchpoint=delivery.touchpoint,
            delay_minutes=120,
            sampling_percent=50,
        )
        store = Survey.objects.get(name="Store visit Paris Rivoli")
        Kiosk.objects.create(
            name="Paris Rivoli, entrance",
            survey=store,
            site=Site.objects.filter(code="paris-rivoli").first(),
            key=services._token(),
        )
    return {"surveys": len(SURVEYS), "responses": responses}


def _history(rng: random.Random, survey: Survey, now: datetime) -> int:
    """Invitations for past interactions (some blocked, most unanswered) and their answers."""
    interactions = Interaction.objects.filter(
        customer__isnull=False, occurred_at__gte=now - timedelta(days=180), occurred_at__lt=now
    ).select_related("customer")
    if survey.touchpoint_id:
        interactions = interactions.filter(touchpoint=survey.touchpoint)
    else:
        interactions = interactions.filter(
            touchpoint__in=Touchpoint.objects.filter(code__in=["order-web", "store-lyon-part-dieu"])
        )
    picked = [i for i in interactions.order_by("pk")[:3000] if rng.random() < 0.6][:900]
    invitations = [
        Invitation(
            survey=survey,
            token=services._token(),
            short_code=services._short_code(),
            customer=i.customer,
            interaction=i,
            language=i.customer.language if i.customer.language in ("fr", "en") else "fr",
            channel=AnswerChannel.WEB,
            expires_at=i.occurred_at + timedelta(days=30),
            blocked=rng.random() < 0.06,
        )
        for i in picked
    ]
    Invitation.objects.bulk_create(invitations)
    questions = list(survey.questions.all())
    items = []
    for invitation, interaction in zip(invitations, picked, strict=True):
        if invitation.blocked or rng.random() > 0.42:
            continue
        items.append(_answers_item(rng, survey, questions, invitation, interaction))
    if items:
        services.responses_import(actor=ACTOR, survey=survey, items=items)
    return len(items)


def _answers_item(rng, survey, questions, invitation, interaction) -> dict:
    bad = interaction.outcome in BAD_OUTCOMES
    score = (
        rng.choice([0, 1, 2, 3, 4, 5, 6, 6, 7]) if bad else rng.choice([6, 7, 8, 8, 9, 9, 10, 10])
    )
    category = services.nps_category(score)
    answers: dict = {}
    for question in questions:
        if question.type == "nps":
            answers[question.key] = score
        elif question.type == "csat":
            answers[question.key] = max(1, min(5, round(score / 2)))
        elif question.type == "ces":
            answers[question.key] = max(1, min(7, round(score * 0.6) + rng.choice([0, 1])))
        elif question.type == "rating":
            answers[question.key] = max(
                question.scale_min, min(question.scale_max, round(score / 2))
            )
        elif question.type == "yes_no":
            answers[question.key] = score >= 6
        elif question.type == "single":
            answers[question.key] = rng.choice(question.choices)["value"]
        elif question.type == "multiple" and score <= 6:
            answers[question.key] = ["late"] if bad else [rng.choice(question.choices)["value"]]
        elif question.type == "text" and rng.random() < 0.55:
            answers[question.key] = rng.choice(COMMENTS[(invitation.language, category)])
    answered_at = interaction.occurred_at + timedelta(hours=rng.randint(2, 72))
    return {
        "source": "demo",
        "external_id": f"{survey.pk}-{invitation.short_code}",
        "invitation": invitation.short_code,  # each answer is an invitation's: rates count it
        "channel": rng.choices([c for c, _w in CHANNELS], [w for _c, w in CHANNELS])[0],
        "language": invitation.language,
        "started_at": (answered_at - timedelta(seconds=rng.randint(40, 400))).isoformat(),
        "completed_at": answered_at.isoformat(),
        "answers": answers,
    }
