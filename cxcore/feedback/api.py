"""REST endpoints of the feedback area: surveys (build, open, close, copy, export, import)."""

from __future__ import annotations

from django.http import Http404
from ninja import Body, Router

from cxcore.api.auth import require
from cxcore.feedback import queries, services
from cxcore.feedback.models import Survey

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
