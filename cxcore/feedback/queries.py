"""Reads of the feedback area for pages and the API."""

from django.db.models import Count, QuerySet

from cxcore.feedback.models import Survey


def surveys_list() -> QuerySet[Survey]:
    return Survey.objects.select_related("touchpoint").annotate(question_count=Count("questions"))


def survey_get(pk: int) -> Survey:
    return Survey.objects.select_related("touchpoint").prefetch_related("questions").get(pk=pk)
