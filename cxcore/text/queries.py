"""Reads of the text area: the taxonomy and its compiled matcher, the active sentiment model,
stored analyses as pages show them, and filters of comments and notes by sentiment and topic."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, Max, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import formats
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from cxcore.feedback.models import Answer, QuestionType, Response
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


# --- the console pages: the taxonomy with its counts, unmatched comments, model history ----------

# Terms shown per language on the taxonomy page; the form shows them all.
TERMS_SHOWN = 8
# Comments and notes read at most for discovery, newest first: recent words, bounded time.
DISCOVERY_TEXTS = 5000
ATTEMPTS_SHOWN = 50


def topic_text_counts() -> dict[str, int]:
    """How many comments and notes carry each topic now, by code (one grouped query)."""
    return dict(
        TextTopic.objects.values("topic__code")
        .annotate(texts=Count("pk"))
        .values_list("topic__code", "texts")
    )


def _shortened(terms: list[str]) -> dict:
    return {"shown": terms[:TERMS_SHOWN], "more": max(len(terms) - TERMS_SHOWN, 0)}


def topics_tree_for_console() -> list[dict]:
    """topics_tree() with, on each topic, its text count, its terms shortened and
    whether a switched-off ancestor mutes it (two queries)."""
    tree = topics_tree()
    counts = topic_text_counts()

    def walk(nodes, parent_on: bool):
        for node in nodes:
            node["texts"] = counts.get(node["code"], 0)
            node["muted_by_parent"] = node["active"] and not parent_on
            for kind in ("terms", "exclusions"):
                node[f"{kind}_shown"] = {
                    language: _shortened(node[kind][language]) for language in ("en", "fr")
                }
            walk(node["children"], parent_on and node["active"])

    walk(tree, True)
    return tree


def topic_parent_choices(*, excluding: str | None = None) -> list[tuple[str, str]]:
    """(code, label) of every topic that may be a parent, in tree order and indented; the
    topic `excluding` and its descendants are left out (a topic cannot sit under itself)."""
    choices: list[tuple[str, str]] = []

    def walk(nodes, depth):
        for node in nodes:
            if node["code"] == excluding:
                continue
            choices.append((node["code"], "\u2003" * depth + f"{node['name']} ({node['code']})"))
            walk(node["children"], depth + 1)

    walk(topics_tree(), 0)
    return choices


def unmatched_texts(*, language: str, limit: int = DISCOVERY_TEXTS) -> list[str]:
    """The newest comments and notes in `language` that were read but matched no topic.

    Comments by their response's date, notes by the interaction's; two bounded queries.
    """
    unmatched = TextAnalysis.objects.filter(language=language).filter(
        ~Exists(TextTopic.objects.filter(analysis_id=OuterRef("pk")))
    )
    comments = (
        unmatched.filter(answer__isnull=False)
        .annotate(
            said_at=Coalesce("answer__response__completed_at", "answer__response__started_at")
        )
        .order_by("-said_at", "-answer_id")
        .values_list("said_at", "answer__text")[:limit]
    )
    notes = (
        unmatched.filter(interaction__isnull=False)
        .order_by("-interaction__occurred_at", "-interaction_id")
        .values_list("interaction__occurred_at", "interaction__note")[:limit]
    )
    newest = sorted([*comments, *notes], key=lambda row: row[0], reverse=True)[:limit]
    return [text for _said_at, text in newest if text and text.strip()]


def labelled_comments_count() -> int:
    """About how many comments adapting the model may learn from: comments of complete
    responses that also gave an NPS or CSAT score (one count; adaptation.labelled_examples
    also leaves out languages the model does not read)."""
    scored = Answer.objects.filter(
        response=OuterRef("response"),
        question__type__in=[QuestionType.NPS, QuestionType.CSAT],
        number__isnull=False,
    )
    return (
        Answer.objects.filter(
            question__type=QuestionType.TEXT, response__status=Response.Status.COMPLETE
        )
        .exclude(text="")
        .filter(Exists(scored))
        .count()
    )


def sentiment_model_active() -> SentimentModel | None:
    """The adapted model that reads texts now, or None when the shipped one does."""
    return (
        SentimentModel.objects.filter(active=True)
        .select_related("created_by")
        .defer("artefact")
        .first()
    )


def adaptation_attempts(limit: int = ATTEMPTS_SHOWN) -> list[dict]:
    """The latest attempts to adapt the model, newest first, with their figures side by side.

    Differences are in points (hundredths): 0.712 → 0.768 is +5.6 points.
    """
    rows = (
        SentimentModel.objects.select_related("created_by")
        .defer("artefact")
        .order_by("-created_at", "-id")[:limit]
    )
    attempts = []
    for row in rows:
        metrics = row.metrics or {}
        before, after = metrics.get("before") or {}, metrics.get("after") or {}
        figures = {}
        for name in ("accuracy", "macro_f1"):
            old, new = before.get(name), after.get(name)
            points = None if old is None or new is None else (new - old) * 100
            figures[name] = {
                "before": old,
                "after": new,
                "points": points,
                "points_display": points_display(points),
            }
        attempts.append(
            {
                "row": row,
                "held_back": metrics.get("held_back"),
                "base": metrics.get("base", ""),
                "adopted": bool(metrics.get("adopted", row.active)),
                "figures": figures,
                "classes": [
                    {
                        "label": label,
                        "name": sentiment_label(label),
                        "before": (before.get("classes") or {}).get(label) or {},
                        "after": values,
                    }
                    for label, values in (after.get("classes") or {}).items()
                ],
            }
        )
    return attempts


def points_display(points: float | None) -> str:
    """A difference in points, signed, in the reader's number format: "+5.6", "−0.7"."""
    if points is None:
        return "—"
    rounded = round(points, 1)
    sign = "+" if rounded > 0 else "\u2212" if rounded < 0 else "±"
    return sign + formats.number_format(abs(rounded), 1)


def _walk(nodes: list[dict]):
    for node in nodes:
        yield node
        yield from _walk(node["children"])


def topic_subtree(code: str) -> dict | None:
    """The topic with this code as a node of topics_tree() (its descendants under
    it), the descendants in a flat list, and how many comments and notes carry any of them
    now (two queries)."""
    node = next((node for node in _walk(topics_tree()) if node["code"] == code), None)
    if node is None:
        return None
    descendants = list(_walk(node["children"]))
    codes = [code, *(descendant["code"] for descendant in descendants)]
    texts = TextTopic.objects.filter(topic__code__in=codes).values("analysis_id").distinct().count()
    return {"node": node, "descendants": descendants, "texts": texts}
