"""REST endpoints of the feedback area: surveys (build, open, close, copy, export, import)."""

from __future__ import annotations

from typing import Literal

from django.http import Http404
from ninja import Body, Field, Query, Router, Schema

from cxcore.api.auth import require
from cxcore.feedback import queries, services
from cxcore.feedback.models import AnswerChannel, Survey

AnswerChannelName = Literal[tuple(AnswerChannel.values)]

router = Router(tags=["feedback"])


def survey_out(survey: Survey) -> dict:
    return {
        "id": survey.pk,
        "status": survey.status,
        "created_at": survey.created_at,
        "opened_at": survey.opened_at,
        "closed_at": survey.closed_at,
        **services.survey_export(survey),
    }


def _survey(pk: int) -> Survey:
    try:
        return queries.survey_get(pk)
    except Survey.DoesNotExist:
        raise Http404 from None


@router.get("/surveys", summary="Surveys")
def surveys_list(request):
    require(request, "feedback.view_survey")
    return {
        "items": [
            {
                "id": s.pk,
                "name": s.name,
                "kind": s.kind,
                "status": s.status,
                "touchpoint": s.touchpoint.code if s.touchpoint_id else None,
                "questions": s.question_count,
                "responses": s.response_count,
            }
            for s in queries.surveys_list()[:500]
        ]
    }


@router.post("/surveys", response={201: dict}, summary="Build a survey (a draft)")
def surveys_create(request, payload: dict = Body(...)):  # noqa: B008 - ninja's way to take a body
    actor = require(request, "feedback.add_survey", write=True)
    survey = services.survey_create(actor=actor, data=payload)
    return 201, survey_out(_survey(survey.pk))


# Before /surveys/{survey_id}, which would otherwise take "import" for an id.
@router.post("/surveys/import", response={201: dict}, summary="A new draft from exported JSON")
def surveys_import(request, payload: dict = Body(...)):  # noqa: B008
    actor = require(request, "feedback.add_survey", write=True)
    survey = services.survey_import(actor=actor, data=payload)
    return 201, survey_out(_survey(survey.pk))


@router.get("/surveys/{survey_id}", summary="A survey and its questions")
def surveys_get(request, survey_id: int):
    require(request, "feedback.view_survey")
    return survey_out(_survey(survey_id))


@router.put("/surveys/{survey_id}/questions", summary="Replace a draft survey's questions")
def surveys_questions(request, survey_id: int, payload: list[dict] = Body(...)):  # noqa: B008
    actor = require(request, "feedback.change_survey", write=True)
    services.survey_questions_set(actor=actor, survey=_survey(survey_id), questions=payload)
    return survey_out(_survey(survey_id))


@router.post("/surveys/{survey_id}/open", summary="Start taking answers")
def surveys_open(request, survey_id: int):
    actor = require(request, "feedback.change_survey", write=True)
    services.survey_open(actor=actor, survey=_survey(survey_id))
    return survey_out(_survey(survey_id))


@router.post("/surveys/{survey_id}/close", summary="Stop taking answers")
def surveys_close(request, survey_id: int):
    actor = require(request, "feedback.change_survey", write=True)
    services.survey_close(actor=actor, survey=_survey(survey_id))
    return survey_out(_survey(survey_id))


@router.post(
    "/surveys/{survey_id}/duplicate", response={201: dict}, summary="Copy a survey as a draft"
)
def surveys_duplicate(request, survey_id: int, name: str = ""):
    actor = require(request, "feedback.add_survey", write=True)
    copy = services.survey_duplicate(actor=actor, survey=_survey(survey_id), name=name)
    return 201, survey_out(_survey(copy.pk))


@router.get("/surveys/{survey_id}/export", summary="The survey as portable JSON")
def surveys_export(request, survey_id: int):
    require(request, "feedback.view_survey")
    return services.survey_export(_survey(survey_id))


# --- invitations and responses ------------------------------------------------------------------


class InvitationIn(Schema):
    survey: int
    customer: int | None = None
    interaction: int | None = None
    channel: AnswerChannelName = "web"
    language: Literal["fr", "en"] | None = None
    # true: sent as a membrane message (consent, preferences, recontact rules and caps apply);
    # false: only made, for a link printed on a receipt (QR) or read out on the phone.
    send: bool = False


class ResponseIn(Schema):
    token: str = Field(..., max_length=64)
    answers: dict
    complete: bool = True


class ResponsesImportIn(Schema):
    items: list[dict]


def _invitation_out(invitation) -> dict:
    return {
        "id": invitation.pk,
        "survey": invitation.survey_id,
        "token": invitation.token,
        "url": queries.invitation_url(invitation),
        "short_code": services.short_code_display(invitation.short_code),
        "channel": invitation.channel,
        "language": invitation.language,
        "customer": invitation.customer_id,
        "interaction": invitation.interaction_id,
        "expires_at": invitation.expires_at,
        "sent": invitation.decision_id is not None and not invitation.blocked,
        "blocked": invitation.blocked,
        "decision": invitation.decision_id,
    }


def response_out(response, *, personal: bool) -> dict:
    return {
        "id": response.pk,
        "survey": response.survey_id,
        "status": response.status,
        "channel": response.channel,
        "language": response.language,
        # Who answered is personal data: only for roles that may see it.
        "customer": response.customer_id if personal else None,
        "interaction": response.interaction_id,
        "touchpoint": response.touchpoint.code if response.touchpoint_id else None,
        "nps": response.nps,
        "nps_category": response.nps_category,
        "started_at": response.started_at,
        "completed_at": response.completed_at,
        "seconds_to_complete": response.seconds_to_complete,
        "source": response.source,
        "external_id": response.external_id,
        "answers": queries.answers_by_key(response),
    }


@router.post("/invitations", response={201: dict}, summary="Invite a customer, or make a link")
def invitations_create(request, payload: InvitationIn):
    actor = require(request, "feedback.add_invitation", write=True)
    invitation = services.invitation_request(actor=actor, **payload.dict())
    return 201, _invitation_out(invitation)


@router.post("/responses", response={201: dict}, summary="Answer an invitation (by its token)")
def responses_submit(request, payload: ResponseIn):
    require(request, "feedback.add_response", write=True)
    response = services.response_submit(
        token=payload.token, answers=payload.answers, complete=payload.complete
    )
    personal = request.user.has_perm("customers.view_personal_data")
    return 201, response_out(queries.response_get(response.pk), personal=personal)


@router.post(
    "/surveys/{survey_id}/responses/import",
    summary="Import responses collected elsewhere (idempotent by source and external_id)",
)
def responses_import(request, survey_id: int, payload: ResponsesImportIn):
    actor = require(request, "feedback.add_response", write=True)
    return services.responses_import(actor=actor, survey=_survey(survey_id), items=payload.items)


@router.get("/surveys/{survey_id}/responses", summary="A survey's responses, newest first")
def responses_list(
    request,
    survey_id: int,
    status: Literal["partial", "complete"] | None = None,
    before: int | None = None,
    limit: int = Query(100, ge=1, le=500),  # noqa: B008 - ninja's way to bound a parameter
):
    require(request, "feedback.view_response")
    survey = _survey(survey_id)
    page = list(queries.responses_page(survey, status=status, before_id=before, size=limit + 1))
    personal = request.user.has_perm("customers.view_personal_data")
    return {
        "items": [response_out(r, personal=personal) for r in page[:limit]],
        "next_before": page[limit - 1].pk if len(page) > limit else None,
    }


# --- results, comments and the responses export ------------------------------------------------

from datetime import date  # noqa: E402

from django.http import StreamingHttpResponse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402

from cxcore.api.errors import ApiError  # noqa: E402
from cxcore.customers.services import audit_record  # noqa: E402
from cxcore.feedback import exports  # noqa: E402
from cxcore.feedback.models import QuestionType  # noqa: E402
from cxcore.interactions.models import Touchpoint  # noqa: E402

NPS_CATEGORY_NAMES = ("promoter", "passive", "detractor")


def _results_filters(
    *, date_from: date | None, date_to: date | None, touchpoint: str, channel: str
) -> dict:
    """The query's filters from query parameters, or a 422 naming the parameter at fault."""
    if channel and channel not in AnswerChannel.values:
        raise ApiError(
            422,
            "invalid",
            _("Unknown channel %(channel)s; use one of: %(choices)s.")
            % {"channel": channel, "choices": ", ".join(AnswerChannel.values)},
            "channel",
        )
    if date_from and date_to and date_from > date_to:
        raise ApiError(
            422,
            "invalid",
            _("date_from (%(start)s) is after date_to (%(end)s).")
            % {"start": date_from.isoformat(), "end": date_to.isoformat()},
            "date_from",
        )
    touchpoint_id = None
    if touchpoint:
        touchpoint_id = Touchpoint.objects.filter(code=touchpoint).values_list("pk", flat=True)
        touchpoint_id = touchpoint_id.first()
        if touchpoint_id is None:
            raise ApiError(422, "invalid", _("Unknown touchpoint %s.") % touchpoint, "touchpoint")
    return {
        "date_from": date_from,
        "date_to": date_to,
        "touchpoint_id": touchpoint_id,
        "channel": channel or None,
    }


@router.get("/surveys/{survey_id}/results", summary="A survey's results, with 95 % intervals")
def surveys_results(
    request,
    survey_id: int,
    date_from: date | None = None,
    date_to: date | None = None,
    touchpoint: str = "",
    channel: str = "",
):
    require(request, "feedback.view_survey")
    survey = _survey(survey_id)
    filters = _results_filters(
        date_from=date_from, date_to=date_to, touchpoint=touchpoint, channel=channel
    )
    return queries.survey_results(survey, **filters)


@router.get("/surveys/{survey_id}/comments", summary="Free-text answers, newest first")
def surveys_comments(
    request,
    survey_id: int,
    question: str = "",
    nps_category: str = "",
    sentiment: str = "",
    topic: str = "",
    search: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    touchpoint: str = "",
    channel: str = "",
    limit: int = Query(50, ge=1, le=200),  # noqa: B008 - ninja's way to bound a parameter
    offset: int = Query(0, ge=0),  # noqa: B008
):
    """Each comment has its `sentiment`, `score` and `topics` once the text area has read it
    (null, null and [] until then); `sentiment` and `topic` (a topic's code, its sub-topics
    included) keep the comments read so."""
    from cxcore.text import queries as text_queries
    from cxcore.text.models import Sentiment

    require(request, "feedback.view_response")
    survey = _survey(survey_id)
    filters = _results_filters(
        date_from=date_from, date_to=date_to, touchpoint=touchpoint, channel=channel
    )
    text_keys = [q.key for q in survey.questions.all() if q.type == QuestionType.TEXT]
    if question and question not in text_keys:
        raise ApiError(
            422,
            "invalid",
            _("This survey has no free-text question %(key)s; use one of: %(keys)s.")
            % {"key": question, "keys": ", ".join(text_keys)},
            "question",
        )
    if nps_category and nps_category not in NPS_CATEGORY_NAMES:
        raise ApiError(
            422,
            "invalid",
            _("Unknown NPS category %(category)s; use one of: %(choices)s.")
            % {"category": nps_category, "choices": ", ".join(NPS_CATEGORY_NAMES)},
            "nps_category",
        )
    if sentiment and sentiment not in Sentiment.values:
        raise ApiError(
            422,
            "invalid",
            _("Unknown sentiment %(sentiment)s; use one of: %(choices)s.")
            % {"sentiment": sentiment, "choices": ", ".join(Sentiment.values)},
            "sentiment",
        )
    if topic and not text_queries.topic_exists(topic):
        raise ApiError(422, "invalid", _("No topic has the code %s.") % topic, "topic")
    qs = queries.survey_comments(
        survey,
        question_key=question or None,
        nps_category=nps_category or None,
        sentiment=sentiment or None,
        topic=topic or None,
        search=search,
        **filters,
    )
    page = list(qs[offset : offset + limit + 1])
    personal = request.user.has_perm("customers.view_personal_data")
    readings = text_queries.analyses_display(
        text_queries.answer_analysis(answer) for answer in page[:limit]
    )
    items = []
    for answer, reading in zip(page[:limit], readings, strict=True):
        response = answer.response
        item = {
            "id": answer.pk,
            "response_id": response.pk,
            "question": answer.question.key,
            "text": answer.text,
            "completed_at": response.completed_at,
            "nps": response.nps,
            "nps_category": response.nps_category,
            "touchpoint": response.touchpoint.code if response.touchpoint_id else None,
            "channel": response.channel,
            "language": response.language,
            "sentiment": reading["sentiment"] if reading else None,
            "score": reading["score"] if reading else None,
            "topics": [
                {"code": t["code"], "name": t["name"]}
                for t in (reading["topics"] if reading else [])
            ],
        }
        if personal:
            item["customer"] = response.customer.reference if response.customer_id else None
        items.append(item)
    return {
        "items": items,
        "next_offset": offset + limit if len(page) > limit else None,
    }


@router.get("/surveys/{survey_id}/export.csv", summary="Complete responses as CSV (streamed)")
def surveys_export_csv(
    request,
    survey_id: int,
    date_from: date | None = None,
    date_to: date | None = None,
    touchpoint: str = "",
    channel: str = "",
):
    actor = require(request, "feedback.view_response")
    survey = _survey(survey_id)
    filters = _results_filters(
        date_from=date_from, date_to=date_to, touchpoint=touchpoint, channel=channel
    )
    include_customer = request.user.has_perm("customers.view_personal_data")
    audit_record(
        actor=actor,
        action="export",
        target=f"survey:{survey.pk}",
        changes={"format": "csv", "filters": request.GET.dict(), "customer": include_customer},
    )
    rows = exports.export_rows(survey, include_customer=include_customer, **filters)
    response = StreamingHttpResponse(
        exports.csv_stream(rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="survey-{survey.pk}-responses-{stamp}.csv"'
    )
    return response
