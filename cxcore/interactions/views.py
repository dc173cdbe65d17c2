"""Console pages of the interaction log: the log itself and CSV imports."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxcore.console.access import is_htmx, role_required
from cxcore.interactions import queries, services
from cxcore.interactions.csv_import import (
    CsvFileError,
    csv_layout,
    csv_preview,
    error_report_rows,
)
from cxcore.interactions.forms import InteractionFilterForm, MappingForm, UploadForm
from cxcore.interactions.models import ImportJob
from cxcore.lib.actor import Actor
from cxcore.lib.csvsafe import csv_lines


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


@role_required("interactions.view_interaction")
def interaction_list(request):
    form = InteractionFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    touchpoint = data.get("touchpoint")
    until = data.get("until")
    qs = queries.interactions_search(
        touchpoint=touchpoint.code if touchpoint else None,
        channel=data.get("channel") or None,
        since=_day_start(data.get("since")),
        until=_day_start(until) + timezone.timedelta(days=1) if until else None,
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "interactions/list.html#results" if is_htmx(request) else "interactions/list.html"
    return render(request, template, {"form": form, "page": page, "query": query.urlencode()})


@role_required("interactions.import_interactions")
def import_list(request):
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job, _layout = services.import_job_create(
                    actor=Actor.from_request(request),
                    upload=form.cleaned_data["file"],
                    encoding=form.cleaned_data["encoding"],
                    source=form.cleaned_data["source"],
                )
                return redirect("interactions:import_mapping", pk=job.pk)
            except CsvFileError as exc:
                form.add_error("file", str(exc))
    jobs = ImportJob.objects.select_related("created_by")[:50]
    status = 422 if form.errors else 200
    return render(request, "interactions/imports.html", {"form": form, "jobs": jobs}, status=status)


def _job_for(request, pk: int) -> ImportJob:
    # Admins see every import; others see their own.
    jobs = ImportJob.objects.all()
    if not request.user.has_perm("customers.view_auditentry"):
        jobs = jobs.filter(created_by=request.user)
    return get_object_or_404(jobs, pk=pk)


@role_required("interactions.import_interactions")
def import_mapping(request, pk: int):
    job = _job_for(request, pk)
    if job.status != ImportJob.Status.MAPPING:
        return redirect("interactions:import_detail", pk=pk)
    with job.file.open("rb") as stream:
        layout = csv_layout(stream, job.encoding)
        form = MappingForm(
            request.POST or request.GET or None, headers=layout.headers, initial=job.mapping
        )
        mapping = form.mapping() if form.is_bound and form.is_valid() else job.mapping
        preview = csv_preview(stream, layout, mapping)
    if request.method == "POST" and form.is_valid() and "start" in request.POST:
        try:
            services.import_job_start(actor=Actor.from_request(request), job=job, mapping=mapping)
            messages.success(request, _("Import started."))
            return redirect("interactions:import_detail", pk=pk)
        except CsvFileError as exc:
            form.add_error(None, str(exc))
    context = {
        "job": job,
        "form": form,
        "layout": layout,
        "preview": preview,
        "mapped": [f for f in form if f.value()],
    }
    if is_htmx(request):
        return render(request, "interactions/import_mapping.html#preview", context)
    return render(
        request, "interactions/import_mapping.html", context, status=422 if form.errors else 200
    )


@role_required("interactions.import_interactions")
def import_detail(request, pk: int):
    job = _job_for(request, pk)
    template = (
        "interactions/import_detail.html#status"
        if is_htmx(request)
        else "interactions/import_detail.html"
    )
    return render(request, template, {"job": job, "errors": job.errors[:50]})


@require_POST
@role_required("interactions.import_interactions")
def import_again(request, pk: int):
    job = _job_for(request, pk)
    try:
        services.import_job_again(actor=Actor.from_request(request), job=job)
        messages.success(request, _("Import queued again; rows already imported will be skipped."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("interactions:import_detail", pk=pk)


@role_required("interactions.import_interactions")
def import_errors(request, pk: int):
    job = _job_for(request, pk)
    response = StreamingHttpResponse(
        csv_lines(error_report_rows(job.errors)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
