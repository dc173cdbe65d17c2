"""Reads that feed the text area's console pages: the taxonomy with its counts, the comments
no topic catches, and the sentiment model's history."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import Coalesce
from django.utils import formats

from cxcore.feedback.models import Answer, QuestionType, Response
from cxcore.text import queries
from cxcore.text.models import SentimentModel, TextAnalysis, TextTopic

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
    """queries.topics_tree() with, on each topic, its text count, its terms shortened and
    whether a switched-off ancestor mutes it (two queries)."""
    tree = queries.topics_tree()
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

    walk(queries.topics_tree(), 0)
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
                        "name": queries.sentiment_label(label),
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
    """The topic with this code as a node of queries.topics_tree() (its descendants under
    it), the descendants in a flat list, and how many comments and notes carry any of them
    now (two queries)."""
    node = next((node for node in _walk(queries.topics_tree()) if node["code"] == code), None)
    if node is None:
        return None
    descendants = list(_walk(node["children"]))
    codes = [code, *(descendant["code"] for descendant in descendants)]
    texts = TextTopic.objects.filter(topic__code__in=codes).values("analysis_id").distinct().count()
    return {"node": node, "descendants": descendants, "texts": texts}
