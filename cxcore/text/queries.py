"""Reads of the text area: the taxonomy and its compiled matcher, the active sentiment model,
stored analyses as pages show them, and filters of comments and notes by sentiment and topic."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, Max, OuterRef, QuerySet
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from cxcore.text.models import Sentiment, SentimentModel, TextAnalysis, TextTopic, Topic

log = logging.getLogger(__name__)

# How long a process trusts its compiled taxonomy and loaded model before asking the database
# (one tiny query) whether another process changed them.
CHECK_SECONDS = 5.0
TOPIC_FIELDS = (
    "pk",
    "code",
    "parent_id",
    "name_en",
    "name_fr",
    "terms_en",
    "terms_fr",
    "exclusions_en",
    "exclusions_fr",
    "active",
    "position",
)


# --- the taxonomy, compiled once per process ----------------------------------------------------


@dataclass
class Taxonomy:
    """The topics as the engine reads them, with what storing results needs to know."""

    marker: tuple
    matcher: object  # cxcore.text.topics.TopicMatcher
    topic_ids: dict[str, int]  # code -> id, of the topics the matcher knows
    checked_at: float

    @property
    def version(self) -> str:
        return self.matcher.version


_lock = threading.Lock()
_taxonomy: Taxonomy | None = None
_model: tuple[str | None, object, float] | None = None  # (active version, model, checked at)


def caches_clear() -> None:
    """Forget the compiled taxonomy and the loaded model: the next use reads them again."""
    global _taxonomy, _model
    with _lock:
        _taxonomy = None
        _model = None


def _taxonomy_marker() -> tuple:
    # Every write of a topic touches updated_at; a deletion changes the count.
    row = Topic.objects.aggregate(count=Count("id"), latest=Max("updated_at"))
    return (row["count"], row["latest"])


def _effectively_active(rows: list[dict]) -> list[dict]:
    """The active topics whose ancestors are all active: switching a branch off mutes it all."""
    by_id = {row["pk"]: row for row in rows}

    def active(row, depth=0) -> bool:
        if not row["active"] or depth > len(rows):
            return False
        parent = by_id.get(row["parent_id"])
        return parent is None or active(parent, depth + 1)

    return [row for row in rows if active(row)]


def topic_specs(rows: list[dict] | None = None) -> list:
    """The engine's TopicSpec of every active topic, parents before their children."""
    from cxcore.text.topics import TopicSpec

    if rows is None:
        rows = list(Topic.objects.order_by("position", "code").values(*TOPIC_FIELDS))
    rows = _effectively_active(rows)
    codes = {row["pk"]: row["code"] for row in rows}
    return [
        TopicSpec(
            code=row["code"],
            parent=codes.get(row["parent_id"]),
            terms={"en": tuple(row["terms_en"]), "fr": tuple(row["terms_fr"])},
            exclusions={"en": tuple(row["exclusions_en"]), "fr": tuple(row["exclusions_fr"])},
        )
        for row in _tree_order(rows)
    ]


def _tree_order(rows: list[dict]) -> list[dict]:
    """Rows parents first, siblings by position then code."""
    children: dict[int | None, list[dict]] = {}
    ids = {row["pk"] for row in rows}
    for row in rows:
        parent = row["parent_id"] if row["parent_id"] in ids else None
        children.setdefault(parent, []).append(row)
    ordered: list[dict] = []
    stack = list(reversed(sorted(children.get(None, []), key=_sibling_order)))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(sorted(children.get(row["pk"], []), key=_sibling_order)))
    return ordered


def _sibling_order(row: dict):
    return (row["position"], row["code"])


def taxonomy(*, fresh: bool = False) -> Taxonomy:
    """The compiled taxonomy, rebuilt when a topic changed (checked every CHECK_SECONDS, or
    now when `fresh`: background work must never store a reading from a stale taxonomy)."""
    global _taxonomy
    from cxcore.text.topics import TopicMatcher

    now = time.monotonic()
    current = _taxonomy
    if current is not None and not fresh and now - current.checked_at < CHECK_SECONDS:
        return current
    marker = _taxonomy_marker()
    if current is not None and current.marker == marker:
        current.checked_at = now
        return current
    with _lock:
        rows = list(Topic.objects.order_by("position", "code").values(*TOPIC_FIELDS))
        specs = topic_specs(rows)
        built = Taxonomy(
            marker=marker,
            matcher=TopicMatcher(specs),
            topic_ids={row["code"]: row["pk"] for row in _effectively_active(rows)},
            checked_at=now,
        )
        _taxonomy = built
    return built


def current_matcher(*, fresh: bool = False):
    return taxonomy(fresh=fresh).matcher


# --- the sentiment model ------------------------------------------------------------------------


def active_model(*, fresh: bool = False):
    """The sentiment model that reads texts: the active row's, else the engine's default.

    Loaded once per process and per active version, which is checked every CHECK_SECONDS (or
    now when `fresh`); an artefact the engine cannot load is logged and the default reads
    meanwhile, so that analysis never stops.
    """
    global _model
    from cxcore.text import engine

    now = time.monotonic()
    current = _model
    if current is not None and not fresh and now - current[2] < CHECK_SECONDS:
        return current[1]
    version = SentimentModel.objects.filter(active=True).values_list("version", flat=True).first()
    if current is not None and current[0] == version:
        _model = (version, current[1], now)
        return current[1]
    model = None
    if version is not None:
        artefact = (
            SentimentModel.objects.filter(version=version)
            .values_list("artefact", flat=True)
            .first()
        )
        try:
            model = engine.load_model(artefact)
        except Exception:
            log.exception(
                "the active sentiment model %s cannot be loaded; using the default", version
            )
    if model is None:
        model = engine.default_model()
    with _lock:
        _model = (version, model, now)
    return model


def model_version(model) -> str:
    return str(getattr(model, "version", "") or "")


# --- display ------------------------------------------------------------------------------------


def _french() -> bool:
    return (get_language() or "en").startswith("fr")


def topic_names() -> dict[str, str]:
    """Every topic's name in the current language, by code (one query)."""
    column = "name_fr" if _french() else "name_en"
    return dict(Topic.objects.values_list("code", column))


def sentiment_label(sentiment: str) -> str:
    try:
        return str(Sentiment(sentiment).label)
    except ValueError:
        return sentiment


def analysis_display(analysis: TextAnalysis | None, names: dict[str, str]) -> dict | None:
    """What a page shows of a stored analysis: sentiment in words, score, named topics."""
    if analysis is None:
        return None
    return {
        "language": analysis.language,
        "sentiment": analysis.sentiment,
        "sentiment_label": sentiment_label(analysis.sentiment),
        "score": analysis.score,
        "topics": [
            {"code": code, "name": names[code]} for code in analysis.topic_codes if code in names
        ],
        "complaints": list(analysis.complaints),
        "flags": list(analysis.flags),
    }


def analyses_display(analyses: Iterable[TextAnalysis | None]) -> list[dict | None]:
    """Displays of these analyses, in order; topic names come in one query for them all."""
    analyses = list(analyses)
    names = topic_names() if any(a is not None and a.topic_codes for a in analyses) else {}
    return [analysis_display(a, names) for a in analyses]


def answer_analysis(answer) -> TextAnalysis | None:
    """An answer's stored analysis, or None (loaded with select_related("analysis"))."""
    return getattr(answer, "analysis", None)


# --- the taxonomy for pages and the API ---------------------------------------------------------


def topics_tree() -> list[dict]:
    """Every topic (inactive ones too), nested, siblings by position then code (one query)."""
    rows = list(Topic.objects.order_by("position", "code").values(*TOPIC_FIELDS))
    french = _french()
    nodes = {
        row["pk"]: {
            "code": row["code"],
            "name": row["name_fr"] if french else row["name_en"],
            "name_en": row["name_en"],
            "name_fr": row["name_fr"],
            "terms": {"en": row["terms_en"], "fr": row["terms_fr"]},
            "exclusions": {"en": row["exclusions_en"], "fr": row["exclusions_fr"]},
            "active": row["active"],
            "position": row["position"],
            "children": [],
        }
        for row in rows
    }
    roots = []
    for row in _tree_order(rows):
        parent = nodes.get(row["parent_id"])
        (parent["children"] if parent is not None else roots).append(nodes[row["pk"]])
    return roots


def topic_choices() -> list[tuple[str, str]]:
    """(code, name) of every topic in tree order, sub-topics indented, for filter selects."""
    choices: list[tuple[str, str]] = []

    def walk(nodes, depth):
        for node in nodes:
            choices.append((node["code"], "\u2003" * depth + node["name"]))
            walk(node["children"], depth + 1)

    walk(topics_tree(), 0)
    return choices


def topic_exists(code: str) -> bool:
    return Topic.objects.filter(code=code).exists()


def topic_get(code: str) -> Topic:
    return Topic.objects.select_related("parent").get(code=code)


# --- filters ------------------------------------------------------------------------------------


def topic_subtree_ids(code: str) -> list[int]:
    """The ids of the topic with this code and of all its descendants (one query)."""
    rows = list(Topic.objects.values_list("pk", "parent_id", "code"))
    children: dict[int, list[int]] = {}
    start = None
    for pk, parent_id, topic_code in rows:
        children.setdefault(parent_id, []).append(pk)
        if topic_code == code:
            start = pk
    if start is None:
        return []
    found, stack = [], [start]
    while stack:
        pk = stack.pop()
        if pk in found:
            continue
        found.append(pk)
        stack.extend(children.get(pk, []))
    return found


def analyses_matching(*, sentiment: str | None = None, topic: str | None = None) -> QuerySet:
    """Stored analyses read as `sentiment` and speaking of `topic` (its sub-topics included).

    An unknown sentiment or topic matches nothing.
    """
    qs = TextAnalysis.objects.all()
    if sentiment:
        if sentiment not in Sentiment.values:
            return qs.none()
        qs = qs.filter(sentiment=sentiment)
    if topic:
        ids = topic_subtree_ids(topic)
        if not ids:
            return qs.none()
        qs = qs.filter(
            Exists(TextTopic.objects.filter(analysis_id=OuterRef("pk"), topic_id__in=ids))
        )
    return qs


def answers_filter(qs: QuerySet, *, sentiment: str | None = None, topic: str | None = None):
    """Answers (comments) whose stored reading matches the sentiment and the topic."""
    if not (sentiment or topic):
        return qs
    matching = analyses_matching(sentiment=sentiment, topic=topic)
    return qs.filter(Exists(matching.filter(answer_id=OuterRef("pk"))))


def interactions_filter(qs: QuerySet, *, sentiment: str | None = None, topic: str | None = None):
    """Interactions whose note's stored reading matches the sentiment and the topic."""
    if not (sentiment or topic):
        return qs
    matching = analyses_matching(sentiment=sentiment, topic=topic)
    return qs.filter(Exists(matching.filter(interaction_id=OuterRef("pk"))))


def responses_filter(qs: QuerySet, *, sentiment: str | None = None, topic: str | None = None):
    """Survey responses with at least one comment whose reading matches both."""
    if not (sentiment or topic):
        return qs
    matching = analyses_matching(sentiment=sentiment, topic=topic)
    return qs.filter(Exists(matching.filter(answer__response_id=OuterRef("pk"))))


def texts_narrow(qs: QuerySet, *, sentiment: str | None = None, topic: str | None = None):
    """Narrow interactions, responses or answers alike; any other rows carry no text."""
    from cxcore.feedback.models import Answer, Response
    from cxcore.interactions.models import Interaction

    if issubclass(qs.model, Interaction):
        return interactions_filter(qs, sentiment=sentiment, topic=topic)
    if issubclass(qs.model, Response):
        return responses_filter(qs, sentiment=sentiment, topic=topic)
    if issubclass(qs.model, Answer):
        return answers_filter(qs, sentiment=sentiment, topic=topic)
    return qs.none()


# --- the customer's timeline --------------------------------------------------------------------


def timeline_filters() -> list:
    """The customer timeline's filters this area offers: a sentiment, a topic."""
    from cxcore.customers.queries import TimelineFilter

    return [
        TimelineFilter(
            name="sentiment",
            label=gettext_lazy("Sentiment"),
            choices=lambda: list(Sentiment.choices),
            narrow=lambda qs, value: texts_narrow(qs, sentiment=value),
        ),
        TimelineFilter(
            name="topic",
            label=gettext_lazy("Topic"),
            choices=topic_choices,
            narrow=lambda qs, value: texts_narrow(qs, topic=value),
        ),
    ]


TIMELINE_TEMPLATE = "text/timeline_analysis.html"


def timeline_annotate(events: list) -> None:
    """Add the reading of each note and comment to its timeline event (two queries at most)."""
    from cxcore.feedback.models import QuestionType

    by_interaction = {e.object.pk: e for e in events if e.kind == "interaction"}
    by_answer: dict[int, tuple] = {}
    for event in events:
        if event.kind != "response":
            continue
        for answer in event.object.answers.all():  # prefetched with their questions
            if answer.question.type == QuestionType.TEXT and answer.text:
                by_answer[answer.pk] = (event, answer)
    if not by_interaction and not by_answer:
        return
    analyses = list(
        TextAnalysis.objects.filter(interaction_id__in=list(by_interaction))
        | TextAnalysis.objects.filter(answer_id__in=list(by_answer))
    )
    if not analyses:
        return
    displays = analyses_display(analyses)
    french = _french()
    for analysis, display in zip(analyses, displays, strict=True):
        if analysis.interaction_id:
            event = by_interaction[analysis.interaction_id]
            about = _("Note")
        else:
            event, answer = by_answer[analysis.answer_id]
            question = answer.question
            about = question.text_fr if french else question.text_en
        event.annotations.append({"template": TIMELINE_TEMPLATE, "about": about, **display})
