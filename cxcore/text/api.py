"""REST endpoints of the text area: read texts on demand, and the topic taxonomy."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Body, Router, Schema

from cxcore.api.auth import require
from cxcore.api.errors import ApiError
from cxcore.text import queries, services
from cxcore.text.models import Topic
from cxcore.text.types import FLAG_BINARY, FLAG_EMPTY

router = Router(tags=["text"])

MAX_TEXTS = 1000


class AnalyseIn(Schema):
    # Typed loosely on purpose: each refusal names its field with a reason people can act on.
    text: Any = None
    texts: Any = None


def _texts_read(payload: AnalyseIn) -> tuple[list[str], list[str]]:
    """(texts, their field names), or a 422 naming the field at fault."""
    given = payload.model_fields_set
    if "text" in given and "texts" in given:
        raise ApiError(422, "invalid", _("Send either text or texts, not both."), "texts")
    if "texts" in given:
        texts = payload.texts
        if not isinstance(texts, list):
            raise ApiError(422, "invalid", _("Give a list of texts."), "texts")
        if not texts:
            raise ApiError(422, "invalid", _("Give at least one text."), "texts")
        if len(texts) > MAX_TEXTS:
            raise ApiError(
                422,
                "too_many",
                _("At most %(max)d texts a call (got %(count)d).")
                % {"max": MAX_TEXTS, "count": len(texts)},
                "texts",
            )
        fields = [f"texts.{n}" for n in range(len(texts))]
    elif "text" in given:
        texts, fields = [payload.text], ["text"]
    else:
        raise ApiError(422, "required", _('Send {"text": "…"} or {"texts": ["…", …]}.'), "text")
    for text, field in zip(texts, fields, strict=True):
        if not isinstance(text, str):
            raise ApiError(422, "invalid_type", _("Expected text."), field)
    return texts, fields


def _analysis_out(analysis, names: dict[str, str]) -> dict:
    return {
        "language": analysis.language,
        "sentiment": analysis.sentiment,
        "score": analysis.score,
        "topics": [
            {"code": match.code, "name": names.get(match.code, match.code), "words": match.words}
            for match in analysis.topics
        ],
        "complaints": list(analysis.complaints),
        "flags": list(analysis.flags),
        "model": analysis.model,
    }


@router.post("/text/analyse", summary="Language, sentiment and topics of one text or many")
def text_analyse(request, payload: AnalyseIn):
    """Nothing is stored. Send `{"text": "…"}` for one result, or `{"texts": […]}` (at most
    1,000) for `{"items": […]}` in the same order. A text longer than 5,000 characters is read
    up to there and flagged `truncated`; an empty or binary one is refused, naming it."""
    from cxcore.text import engine

    require(request, "text.analyse_text")
    texts, fields = _texts_read(payload)
    analyses = engine.analyse_batch(
        texts, matcher=queries.current_matcher(), model=queries.active_model()
    )
    for analysis, field in zip(analyses, fields, strict=True):
        if FLAG_BINARY in analysis.flags:
            raise ApiError(422, "binary", _("This looks like binary data, not words."), field)
        if FLAG_EMPTY in analysis.flags:
            raise ApiError(422, "empty", _("There is nothing to read in this text."), field)
    names = queries.topic_names() if any(a.topics for a in analyses) else {}
    items = [_analysis_out(analysis, names) for analysis in analyses]
    return items[0] if fields == ["text"] else {"items": items}


@router.get("/text/topics", summary="The topic taxonomy, as a tree")
def topics_list(request):
    require(request, "text.view_topic")
    return {"items": queries.topics_tree()}


def _topic(code: str) -> Topic:
    try:
        return queries.topic_get(code)
    except Topic.DoesNotExist:
        raise Http404 from None


def _topic_out(topic: Topic) -> dict:
    return {
        "code": topic.code,
        "parent": topic.parent.code if topic.parent_id else None,
        "name_en": topic.name_en,
        "name_fr": topic.name_fr,
        "terms": {"en": topic.terms_en, "fr": topic.terms_fr},
        "exclusions": {"en": topic.exclusions_en, "fr": topic.exclusions_fr},
        "active": topic.active,
        "position": topic.position,
    }


@router.post("/text/topics", response={201: dict}, summary="Add a topic")
def topics_create(request, payload: dict = Body(...)):  # noqa: B008 - ninja's way to take a body
    """Fields: code, parent (a code or null), name_en, name_fr, terms_en, terms_fr,
    exclusions_en, exclusions_fr (lists of terms), active, position. Past comments and notes
    are read again in the background."""
    actor = require(request, "text.add_topic", write=True)
    topic = services.topic_create(actor=actor, data=payload)
    return 201, _topic_out(_topic(topic.code))


@router.patch("/text/topics/{code}", summary="Change a topic (the fields given)")
def topics_update(request, code: str, payload: dict = Body(...)):  # noqa: B008
    actor = require(request, "text.change_topic", write=True)
    topic = services.topic_update(actor=actor, topic=_topic(code), data=payload)
    return _topic_out(_topic(topic.code))


@router.delete("/text/topics/{code}", summary="Delete a topic and its sub-topics")
def topics_delete(request, code: str):
    actor = require(request, "text.delete_topic", write=True)
    return {"deleted": services.topic_delete(actor=actor, topic=_topic(code))}
