"""The text engine's interface: analyse one text or many, whatever the model behind it.

    analyse("Livraison en retard, colis abîmé.")
    -> Analysis(language="fr", sentiment="negative", score=-0.93,
                topics=(TopicMatch("delivery.delay", ("retard",)), ...),
                complaints=("Livraison en retard, colis abîmé.",), ...)

Everything runs in process, on the CPU, from files shipped in the package: no network, ever.
The engine knows nothing of Django; the `text` app stores its results and picks the model and
taxonomy a company has made its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache

from . import language as languages
from . import sentences
from .clean import MAX_CHARS, clean
from .sentiment import SentimentModel
from .topics import TopicMatcher, seed_specs
from .train import ARTEFACT
from .types import FLAG_MIXED, NEGATIVE, NEUTRAL, OTHER, Analysis

__all__ = ["MAX_CHARS", "analyse", "analyse_batch", "default_matcher", "default_model"]

# A negative comment's complaint is told in a few sentences; more would be the whole text.
MAX_COMPLAINTS = 3
# A "neutral" comment this far below zero praises one thing and complains of another: its
# complaint is worth showing too.
COMPLAINT_SCORE = -0.2


@cache
def default_model() -> SentimentModel:
    """The model trained from reviews and shipped in the package (`cxcore text train`)."""
    return load_model(json.loads(ARTEFACT.read_text(encoding="utf-8")))


def load_model(artefact: dict) -> SentimentModel:
    return SentimentModel.from_artefact(artefact)


@cache
def default_matcher() -> TopicMatcher:
    """The seed taxonomy, for callers without a taxonomy of their own."""
    return TopicMatcher(seed_specs())


def analyse(
    text: str, *, matcher: TopicMatcher | None = None, model: SentimentModel | None = None
) -> Analysis:
    return analyse_batch([text], matcher=matcher, model=model)[0]


def analyse_batch(
    texts: Sequence[str],
    *,
    matcher: TopicMatcher | None = None,
    model: SentimentModel | None = None,
) -> list[Analysis]:
    """Analyses many texts with one pass of the sentiment model over all of them.

    Never raises on a string: empty, binary-looking or markup-only input gives a neutral result
    flagged "empty" or "binary", which callers may turn into an error for a person.
    """
    model = model or default_model()
    matcher = matcher or default_matcher()
    cleaned = [clean(text) for text in texts]
    # The first language present is the text's; French and English both present make it mixed.
    present = [
        languages.languages_present(item.text) if item.text else (OTHER,) for item in cleaned
    ]
    found = [names[0] for names in present]
    readable = [i for i, item in enumerate(cleaned) if item.text]
    predictions = dict(
        zip(
            readable,
            model.predict([cleaned[i].text for i in readable], [found[i] for i in readable]),
            strict=True,
        )
    )
    complaints = _complaints(
        model,
        {
            i: cleaned[i].text
            for i, (label, score) in predictions.items()
            if label == NEGATIVE or score <= COMPLAINT_SCORE
        },
        found,
    )
    results = []
    for i, item in enumerate(cleaned):
        flags = item.flags
        reading = found[i]
        if {"fr", "en"} <= set(present[i]):
            # Topics are looked for in both languages' words; sentiment reads the main one.
            flags += (FLAG_MIXED,)
            reading = OTHER
        label, score = predictions.get(i, (NEUTRAL, 0.0))
        results.append(
            Analysis(
                language=found[i],
                sentiment=label,
                score=score,
                topics=matcher.match(item.text, reading) if item.text else (),
                complaints=complaints.get(i, ()),
                flags=flags,
                model=model.version,
            )
        )
    return results


def _complaints(
    model: SentimentModel, negatives: dict[int, str], found: list[str]
) -> dict[int, tuple[str, ...]]:
    """The sentences of each negative text that carry its complaint, most negative first.

    All sentences of all negative texts are scored in one batch. A text of one sentence is its
    own complaint; in a longer one, the sentences the model reads as negative, or else the
    least positive one (a complaint can hide in a polite text).
    """
    pieces: list[tuple[int, str]] = []
    for i, text in negatives.items():
        parts = sentences.split(text) or [text]
        pieces.extend((i, part) for part in parts)
    if not pieces:
        return {}
    scored = model.predict([part for _, part in pieces], [found[i] for i, _ in pieces])
    by_text: dict[int, list[tuple[float, str, str]]] = {}
    for (i, part), (label, score) in zip(pieces, scored, strict=True):
        by_text.setdefault(i, []).append((score, label, part))
    result = {}
    for i, scored_parts in by_text.items():
        scored_parts.sort(key=lambda item: item[0])
        negative = [part for _, label, part in scored_parts if label == NEGATIVE]
        result[i] = tuple((negative or [scored_parts[0][2]])[:MAX_COMPLAINTS])
    return result
