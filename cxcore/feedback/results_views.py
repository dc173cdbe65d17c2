"""Console pages of a survey's results: figures with their intervals, comments, exports."""

from __future__ import annotations

import tempfile

from django import forms
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from cxcore.console.access import is_htmx, role_required
from cxcore.customers.services import audit_record
from cxcore.feedback import exports, queries
from cxcore.feedback.models import AnswerChannel, QuestionType, Survey
from cxcore.interactions.models import Touchpoint
from cxcore.lib.actor import Actor
from cxcore.text import queries as text_queries
from cxcore.text.models import Sentiment

COMMENTS_PER_PAGE = 50
NPS_CATEGORY_CHOICES = [
    ("promoter", gettext_lazy("Promoters (9-10)")),
    ("passive", gettext_lazy("Passives (7-8)")),
    ("detractor", gettext_lazy("Detractors (0-6)")),
]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ResultsFilterForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    touchpoint = forms.ModelChoiceField(
        label=gettext_lazy("Touchpoint"),
        queryset=Touchpoint.objects.all(),
        required=False,
        empty_label=gettext_lazy("All touchpoints"),
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"),
        choices=[("", gettext_lazy("All channels")), *AnswerChannel.choices],
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the period comes before its start."))
        return data

    def filters(self) -> dict:
        """The query's keyword arguments; call after is_valid()."""
        data = self.cleaned_data
        return {
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "touchpoint_id": data["touchpoint"].pk if data.get("touchpoint") else None,
            "channel": data.get("channel") or None,
        }


class CommentsFilterForm(ResultsFilterForm):
    question = forms.ChoiceField(label=gettext_lazy("Question"), required=False)
    nps_category = forms.ChoiceField(
        label=gettext_lazy("NPS category"),
        choices=[("", gettext_lazy("All")), *NPS_CATEGORY_CHOICES],
        required=False,
    )
    sentiment = forms.ChoiceField(
        label=gettext_lazy("Sentiment"),
        choices=[("", pgettext_lazy("sentiment", "All")), *Sentiment.choices],
        required=False,
    )
    topic = forms.ChoiceField(label=gettext_lazy("Topic"), required=False)
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)

    field_order = [
        "question",
        "nps_category",
        "sentiment",
        "topic",
        "touchpoint",
        "channel",
        "date_from",
        "date_to",
        "q",
    ]

    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["question"].choices = [("", _("All free-text questions"))] + [
            (q.key, queries.question_text(q))
            for q in survey.questions.all()
            if q.type == QuestionType.TEXT
        ]
        self.fields["topic"].choices = [("", _("All topics")), *text_queries.topic_choices()]

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            **super().filters(),
            "question_key": data.get("question") or None,
            "nps_category": data.get("nps_category") or None,
            "sentiment": data.get("sentiment") or None,
            "topic": data.get("topic") or None,
            "search": data.get("q") or "",
        }


def _survey(survey_id: int) -> Survey:
    try:
        return queries.survey_get(survey_id)
    except Survey.DoesNotExist:
        raise Http404 from None


def _percent(share):
    return None if share is None else share * 100


def _display(results: dict) -> dict:
    """Shares as percentages and chart data, for the page (the figures stay as computed)."""
    for question in results["questions"]:
        for row in question["distribution"]:
            row["percent"] = _percent(row["share"])
        if "top2box" in question:
            question["top2box_percent"] = _interval_percent(question["top2box"])
        question["chart"] = {
            "labels": [str(row["label"]) for row in question["distribution"]],
            "values": [row["n"] for row in question["distribution"]],
            "name": _("Answers"),
        }
        question["chart_id"] = f"q-{question['key']}-data"
        question["peak"] = max((row["n"] for row in question["distribution"]), default=0)
    for name in ("by_touchpoint", "by_channel", "by_month"):
        for row in results[name]:
            if row.get("csat") is not None:
                row["csat_percent"] = _interval_percent(row["csat"])
    if results["csat"] is not None:
        results["csat_percent"] = _interval_percent(results["csat"])
    for name in ("response_rate", "completion_rate"):
        results[f"{name}_percent"] = _percent(results[name])
    seconds = results["median_seconds_to_complete"]
    results["median_minutes"] = None if seconds is None else seconds / 60
    return results


def _interval_percent(interval: dict) -> dict:
    return {
        "n": interval["n"],
        "share": _percent(interval["share"]),
        "low": _percent(interval["low"]),
        "high": _percent(interval["high"]),
    }


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@role_required("feedback.view_survey")
def results(request, survey_id: int):
    survey = _survey(survey_id)
    form = ResultsFilterForm(request.GET or None)
    figures = None
    if not form.is_bound or form.is_valid():
        filters = form.filters() if form.is_bound else {}
        figures = _display(queries.survey_results(survey, **filters))
    context = {
        "survey": survey,
        "form": form,
        "results": figures,
        "breakdowns": [
            (_("By touchpoint"), _("Touchpoint"), figures["by_touchpoint"], "touchpoint"),
            (_("By channel"), _("Channel"), figures["by_channel"], "channel"),
            (_("By month"), _("Month"), figures["by_month"], "month"),
        ]
        if figures
        else [],
        "query": _query_without_page(request),
        "can_read_responses": request.user.has_perm("feedback.view_response"),
    }
    return render(request, "feedback/results.html", context)


@role_required("feedback.view_response")
def comments(request, survey_id: int):
    survey = _survey(survey_id)
    form = CommentsFilterForm(request.GET or None, survey=survey)
    personal = request.user.has_perm("customers.view_personal_data")
    page = None
    comments = []
    if not form.is_bound or form.is_valid():
        filters = form.filters() if form.is_bound else {}
        page = Paginator(queries.survey_comments(survey, **filters), COMMENTS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        # Each comment with its reading (sentiment, topics), when the text area has read it.
        answers = list(page.object_list)
        readings = text_queries.analyses_display(text_queries.answer_analysis(a) for a in answers)
        comments = list(zip(answers, readings, strict=True))
        if personal and page.object_list:
            # Names beside what customers wrote: who read them is on record.
            audit_record(
                actor=Actor.from_request(request),
                action="view",
                target=f"survey_comments:{survey.pk}",
                changes={"filters": request.GET.dict(), "page": page.number},
            )
    context = {
        "survey": survey,
        "form": form,
        "page": page,
        "comments": comments,
        "personal": personal,
        "query": _query_without_page(request),
    }
    template = "feedback/comments.html#results" if is_htmx(request) else "feedback/comments.html"
    return render(request, template, context)


@role_required("feedback.view_response")
def export(request, survey_id: int, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    survey = _survey(survey_id)
    form = ResultsFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    filters = form.filters() if form.is_bound else {}
    include_customer = request.user.has_perm("customers.view_personal_data")
    audit_record(
        actor=Actor.from_request(request),
        action="export",
        target=f"survey:{survey.pk}",
        changes={"format": fmt, "filters": request.GET.dict(), "customer": include_customer},
    )
    rows = exports.export_rows(survey, include_customer=include_customer, **filters)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"survey-{survey.pk}-responses-{stamp}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.csv_stream(rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    # Written row by row to a temporary file, never held whole in memory before sending.
    file = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    exports.xlsx_write(rows, file, title=survey.name)
    file.seek(0)
    return FileResponse(file, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
