"""Adapting the sentiment model to the company's own words, from its own survey answers.

Every complete response with a score and a comment is a labelled example: NPS 0-6 / 7-8 / 9-10
and CSAT 1-2 / 3 / 4-5 are negative / neutral / positive. One action by an admin fits a new
model on three quarters of them, measures it and the current model on the quarter held back,
and makes it the active model only if it reads that quarter better. Every attempt is kept, with
its figures, so the page can say what each one changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.customers.services import audit_record
from cxcore.feedback.models import Answer, QuestionType, Response
from cxcore.lib.actor import Actor

from . import engine
from .language import detect
from .models import SentimentModel
from .train import Example, adapt, evaluate, held_out
from .types import LANGUAGES, NEGATIVE, NEUTRAL, POSITIVE

# Below this many examples the held-back quarter is too small to tell two models apart.
MIN_EXAMPLES = 60
HELD_BACK_SHARE = 4  # one example in four is held back to judge
# Examples read at most, newest first: enough for any company's vocabulary, bounded in time.
MAX_EXAMPLES = 50_000


def label_from_score(kind: str, value: int) -> str | None:
    if kind == QuestionType.NPS:
        return NEGATIVE if value <= 6 else NEUTRAL if value <= 8 else POSITIVE
    if kind == QuestionType.CSAT:
        return NEGATIVE if value <= 2 else NEUTRAL if value == 3 else POSITIVE
    return None


def labelled_examples(limit: int = MAX_EXAMPLES) -> list[Example]:
    """The company's comments labelled by the score given in the same response.

    A response's first NPS or CSAT answer labels all its comments; comments the engine reads
    as neither French nor English are left out (the model has no words for them).
    """
    comment = Answer.objects.filter(
        response=OuterRef("response"), question__type=QuestionType.TEXT
    ).exclude(text="")
    scores = (
        Answer.objects.filter(
            question__type__in=[QuestionType.NPS, QuestionType.CSAT],
            number__isnull=False,
            response__status=Response.Status.COMPLETE,
        )
        .filter(Exists(comment))
        .order_by("-response_id", "question__position", "question_id")
        .values_list("response_id", "question__type", "number")
    )
    labels: dict[int, str] = {}
    for response_id, kind, number in scores.iterator(chunk_size=2000):
        if response_id not in labels:
            label = label_from_score(kind, number)
            if label:
                labels[response_id] = label
        if len(labels) >= limit:
            break
    texts = Answer.objects.filter(
        response_id__in=list(labels), question__type=QuestionType.TEXT
    ).exclude(text="")
    examples = []
    for response_id, text in texts.order_by("response_id", "question_id").values_list(
        "response_id", "text"
    ):
        language = detect(text)
        if language in LANGUAGES:
            examples.append(Example(text, language, labels[response_id]))
    return examples


@dataclass(frozen=True)
class Adaptation:
    model: SentimentModel  # the row kept for this attempt
    adopted: bool
    before: dict  # the current model's figures on the held-back examples
    after: dict  # the new model's


def _figures(model, examples) -> dict:
    figures = evaluate(model, examples)
    return {
        "accuracy": figures["three_class"]["accuracy"],
        "macro_f1": figures["three_class"]["macro_f1"],
        "polarity_accuracy": figures["polarity"]["accuracy"],
        "polarity_macro_f1": figures["polarity"]["macro_f1"],
        "n": figures["three_class"]["n"],
        "classes": figures["three_class"]["classes"],
    }


def model_adapt(*, actor: Actor) -> Adaptation:
    """Fit, judge and maybe adopt a model adapted to the company's comments."""
    from .queries import active_model

    examples = labelled_examples()
    if len(examples) < MIN_EXAMPLES:
        raise ValidationError(
            _(
                "Adapting needs at least %(needed)s comments with a score; there are "
                "%(found)s so far."
            )
            % {"needed": MIN_EXAMPLES, "found": len(examples)},
            code="too_few",
        )
    training = [e for e in examples if not held_out(e.text, HELD_BACK_SHARE)]
    judging = [e for e in examples if held_out(e.text, HELD_BACK_SHARE)]
    if not judging or len({e.label for e in training}) < 2:
        raise ValidationError(
            _("The comments all say the same thing: there is nothing to learn from them yet."),
            code="one_class",
        )
    current = active_model(fresh=True)
    # Dated for people, with a random tail: two attempts in the same second stay apart.
    version = f"company-{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    candidate = adapt(current, training, version=version)
    if candidate is None:
        raise ValidationError(
            _("The comments all say the same thing: there is nothing to learn from them yet."),
            code="one_class",
        )
    before, after = _figures(current, judging), _figures(candidate, judging)
    better = after["macro_f1"] > before["macro_f1"]
    with transaction.atomic():
        if better:
            SentimentModel.objects.filter(active=True).update(active=False)
        row = SentimentModel.objects.create(
            version=version,
            artefact=candidate.to_artefact(),
            created_by=actor.user if getattr(actor.user, "pk", None) else None,
            active=better,
            examples=len(training),
            metrics={
                "before": before,
                "after": after,
                "held_back": len(judging),
                "base": current.version,
                "adopted": better,
            },
        )
        audit_record(
            actor=actor,
            action="text.model_adapt",
            target=f"sentiment model {version}",
            changes={
                "adopted": better,
                "macro_f1_before": before["macro_f1"],
                "macro_f1_after": after["macro_f1"],
            },
        )
    if better:
        # Past comments are read again by the new model, in the background.
        from .tasks import reanalysis_plan

        transaction.on_commit(reanalysis_plan)
    return Adaptation(model=row, adopted=better, before=before, after=after)


def model_restore_default(*, actor: Actor) -> None:
    """Back to the shipped model (no row active); past comments are read again."""
    with transaction.atomic():
        SentimentModel.objects.filter(active=True).update(active=False)
        audit_record(
            actor=actor,
            action="text.model_restore_default",
            target=f"sentiment model {engine.default_model().version}",
        )
    from .tasks import reanalysis_plan

    transaction.on_commit(reanalysis_plan)
