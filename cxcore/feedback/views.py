"""Console pages of surveys: list, builder, detail (triggers, kiosks, paper), agents' entry."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxcore.console.access import is_htmx, role_required
from cxcore.console.forms import form_errors_from
from cxcore.customers.queries import customer_get_for
from cxcore.feedback import paper, queries, services
from cxcore.feedback.forms import (
    CONDITION_LABELS,
    QUESTION_ERROR_FIELDS,
    AnswersForm,
    ImportForm,
    KioskForm,
    PaperForm,
    PhoneSurveyForm,
    QuestionRowFormSet,
    ShortCodeForm,
    SurveyForm,
    TriggerForm,
    questions_from_rows,
    row_initial,
)
from cxcore.feedback.models import AnswerChannel, Kiosk, Response, Survey, SurveyTrigger
from cxcore.interactions.models import Interaction
from cxcore.lib.actor import Actor

IMPORT_MAX_BYTES = 1_000_000


def _survey_for(request, survey_id: int) -> Survey:
    """The survey, for someone who may read surveys; 404 otherwise, never "exists, not yours"."""
    if not request.user.has_perm("feedback.view_survey"):
        raise Http404
    try:
        return queries.survey_get(survey_id)
    except Survey.DoesNotExist:
        raise Http404 from None


# --- the list, import and export ----------------------------------------------------------------


@role_required("feedback.view_survey")
def survey_list(request):
    surveys = queries.surveys_list()
    return render(
        request, "feedback/surveys.html", {"surveys": surveys, "import_form": ImportForm()}
    )


@role_required("feedback.add_survey")
def survey_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = None
        if upload.size > IMPORT_MAX_BYTES:
            form.add_error("file", _("This file is too large for a survey."))
        else:
            try:
                data = json.loads(upload.read().decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                form.add_error("file", _("This file is not JSON."))
        if data is not None:
            try:
                survey = services.survey_import(actor=Actor.from_request(request), data=data)
            except ValidationError as exc:
                # The file's own paths ("questions.2.text_en") tell which part to fix.
                for name, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(None, f"{name}: {error}")
            else:
                messages.success(request, _("Survey imported as a draft."))
                return redirect("feedback:survey", survey.pk)
    status = 400 if form.is_bound else 200
    return render(request, "feedback/import.html", {"form": form}, status=status)


@role_required("feedback.view_survey")
def survey_json(request, survey_id):
    survey = _survey_for(request, survey_id)
    body = json.dumps(services.survey_export(survey), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.json"'
    return response


# --- the builder --------------------------------------------------------------------------------


@role_required("feedback.add_survey")
def survey_new(request):
    return _builder(request, None)


@role_required("feedback.change_survey")
def survey_edit(request, survey_id):
    survey = _survey_for(request, survey_id)
    if survey.status != Survey.Status.DRAFT:
        messages.error(
            request, _("Only a draft survey can change; duplicate it to make a new version.")
        )
        return redirect("feedback:survey", survey.pk)
    return _builder(request, survey)


def _builder(request, survey: Survey | None):
    if request.method != "POST":
        form = SurveyForm.for_survey(survey) if survey else SurveyForm()
        rows = [row_initial(q) for q in survey.questions.all()] if survey else [{}]
        formset = QuestionRowFormSet(initial=rows, prefix="questions")
        return _builder_page(request, survey, form, formset)
    form = SurveyForm(request.POST)
    formset = QuestionRowFormSet(request.POST, prefix="questions")
    action = request.POST.get("action", "save")
    if action != "save":
        # Adding, removing or moving a row only redraws the rows; nothing is checked or saved.
        rows = _rows_after(action, [row.raw() for row in formset.forms])
        form = SurveyForm(initial={name: form[name].value() for name in form.fields})
        formset = QuestionRowFormSet(initial=rows, prefix="questions")
        return _builder_page(request, survey, form, formset)
    if not (form.is_valid() and formset.is_valid()):
        return _builder_page(request, survey, form, formset, status=400)
    kept = [(n, row) for n, row in enumerate(formset.forms) if not row.is_blank()]
    questions = questions_from_rows([row.cleaned_data for _n, row in kept])
    data = form.survey_data()
    actor = Actor.from_request(request)
    try:
        if survey is None:
            with transaction.atomic():
                saved = services.survey_create(actor=actor, data={**data, "questions": questions})
                if data["invitation_message"]:
                    services.survey_update(
                        actor=actor,
                        survey=saved,
                        data={"invitation_message": data["invitation_message"]},
                    )
        else:
            saved = services.survey_update(
                actor=actor, survey=survey, data={**data, "questions": questions}
            )
    except ValidationError as exc:
        _builder_errors(form, formset, [n for n, _row in kept], exc)
        return _builder_page(request, survey, form, formset, status=400)
    messages.success(request, _("Survey saved."))
    url = reverse("feedback:survey", args=[saved.pk])
    if is_htmx(request):
        response = HttpResponse()
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _rows_after(action: str, rows: list[dict]) -> list[dict]:
    """The builder's rows after "add", "remove-N", "up-N" or "down-N"."""
    verb, _sep, number = action.partition("-")
    if verb == "add":
        return [*rows, {"type": "nps", "condition_op": "eq"}]
    if not number.isdigit() or int(number) >= len(rows):
        return rows
    n = int(number)
    if verb == "remove":
        return rows[:n] + rows[n + 1 :]
    other = n - 1 if verb == "up" else n + 1 if verb == "down" else None
    if other is None or not 0 <= other < len(rows):
        return rows
    rows[n], rows[other] = rows[other], rows[n]
    return rows


def _builder_errors(form, formset, row_numbers: list[int], exc: ValidationError) -> None:
    """The service's problems next to their field: `questions.N.field` on row N's field."""
    for name, errors in exc.message_dict.items():
        parts = name.split(".")
        if parts[0] == "questions" and len(parts) > 1 and parts[1].isdigit():
            row = formset.forms[row_numbers[int(parts[1])]]
            field = QUESTION_ERROR_FIELDS.get(parts[2], parts[2]) if len(parts) > 2 else None
            row.add_error(field if field in row.fields else None, errors)
        else:
            form.add_error(name if name in form.fields else None, errors)


def _error_summary(form, formset) -> list[dict]:
    """Every problem of the page, each linking to its field."""
    items = []
    for name, errors in form.errors.items():
        field = form[name] if name in form.fields else None
        for error in errors:
            items.append(
                {
                    "anchor": field.auto_id if field else "survey-fields",
                    "where": field.label if field else _("Survey"),
                    "text": error,
                }
            )
    for number, row in enumerate(formset.forms, start=1):
        for name, errors in row.errors.items():
            field = row[name] if name in row.fields else None
            where = _("Question %(number)d") % {"number": number}
            if field is not None:
                where = f"{where}, {field.label}"
            for error in errors:
                items.append(
                    {
                        "anchor": field.auto_id if field else f"question-{number}",
                        "where": where,
                        "text": error,
                    }
                )
    return items


def _builder_page(request, survey, form, formset, *, status: int = 200):
    context = {
        "survey": survey,
        "form": form,
        "formset": formset,
        "error_summary": _error_summary(form, formset) if form.is_bound else [],
    }
    template = "feedback/survey_form.html"
    if is_htmx(request):
        template += "#builder"
    return render(request, template, context, status=status)


# --- one survey: status, triggers, kiosks, paper -------------------------------------------------


@role_required("feedback.view_survey")
def survey_detail(request, survey_id):
    return _detail_page(request, _survey_for(request, survey_id))


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _detail_page(request, survey: Survey, *, status: int = 200, **forms_in):
    questions = list(survey.questions.all())
    numbers = {q.key: n for n, q in enumerate(questions, start=1)}
    rows = [
        {
            "question": q,
            "condition": (
                {
                    "number": numbers.get(q.show_if["question"]),
                    "key": q.show_if["question"],
                    "op": CONDITION_LABELS.get(q.show_if["op"], q.show_if["op"]),
                    "value": _condition_display(q.show_if["value"]),
                }
                if q.show_if
                else None
            ),
        }
        for q in questions
    ]
    can_manage = request.user.has_perm("feedback.change_survey")
    kiosks = [
        {
            "kiosk": kiosk,
            "url": _site_url(reverse("portal:kiosk", args=[kiosk.key])) if can_manage else "",
        }
        for kiosk in survey.kiosks.select_related("site").order_by("-active", "name", "id")
    ]
    public = {}
    if survey.status == Survey.Status.OPEN and survey.public_code:
        public = {
            "link": _site_url(reverse("portal:survey_qr", args=[survey.public_code])),
            "qr": reverse("portal:survey_qr_image", args=[survey.public_code]),
        }
    context = {
        "survey": survey,
        "invitation_message": survey.invitation_message,
        "rows": rows,
        "response_count": Response.objects.filter(
            survey=survey, status=Response.Status.COMPLETE
        ).count(),
        "triggers": survey.triggers.select_related("touchpoint").order_by("-active", "id"),
        "kiosks": kiosks,
        "public": public,
        "trigger_form": forms_in.get("trigger_form")
        or TriggerForm(initial={"touchpoint": survey.touchpoint}),
        "kiosk_form": forms_in.get("kiosk_form") or KioskForm(),
        "paper_form": forms_in.get("paper_form") or PaperForm(),
    }
    return render(request, "feedback/survey_detail.html", context, status=status)


def _condition_display(value) -> str:
    if isinstance(value, list):
        return ", ".join(_condition_display(v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def _status_change(request, survey_id, service, done: str):
    survey = _survey_for(request, survey_id)
    try:
        service(actor=Actor.from_request(request), survey=survey)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("feedback:survey", survey.pk)


@require_POST
@role_required("feedback.change_survey")
def survey_open(request, survey_id):
    return _status_change(request, survey_id, services.survey_open, _("The survey is open."))


@require_POST
@role_required("feedback.change_survey")
def survey_close(request, survey_id):
    return _status_change(request, survey_id, services.survey_close, _("The survey is closed."))


@require_POST
@role_required("feedback.add_survey")
def survey_duplicate(request, survey_id):
    survey = _survey_for(request, survey_id)
    copy = services.survey_duplicate(actor=Actor.from_request(request), survey=survey)
    messages.success(request, _("A draft copy was made; change it as you like."))
    return redirect("feedback:survey_edit", copy.pk)


@require_POST
@role_required("feedback.change_survey")
def trigger_add(request, survey_id):
    survey = _survey_for(request, survey_id)
    form = TriggerForm(request.POST)
    if form.is_valid():
        try:
            services.trigger_save(
                actor=Actor.from_request(request), survey=survey, data=form.trigger_data()
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Trigger added."))
            return redirect(reverse("feedback:survey", args=[survey.pk]) + "#triggers")
    return _detail_page(request, survey, trigger_form=form, status=400)


@role_required("feedback.change_survey")
def trigger_edit(request, survey_id, trigger_id):
    survey = _survey_for(request, survey_id)
    trigger = get_object_or_404(SurveyTrigger, pk=trigger_id, survey=survey)
    if request.method == "POST":
        form = TriggerForm(request.POST)
        if form.is_valid():
            try:
                services.trigger_save(
                    actor=Actor.from_request(request),
                    survey=survey,
                    trigger=trigger,
                    data=form.trigger_data(),
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, _("Trigger saved."))
                return redirect(reverse("feedback:survey", args=[survey.pk]) + "#triggers")
    else:
        form = TriggerForm(
            initial={
                "touchpoint": trigger.touchpoint,
                "delay_minutes": trigger.delay_minutes,
                "sampling_percent": trigger.sampling_percent,
                "max_age_days": trigger.max_age_days,
                "active": trigger.active,
            }
        )
    return render(
        request,
        "feedback/trigger_form.html",
        {"survey": survey, "trigger": trigger, "form": form},
        status=400 if form.is_bound else 200,
    )


@require_POST
@role_required("feedback.change_survey")
def trigger_deactivate(request, survey_id, trigger_id):
    survey = _survey_for(request, survey_id)
    trigger = get_object_or_404(
        SurveyTrigger.objects.select_related("touchpoint"), pk=trigger_id, survey=survey
    )
    services.trigger_save(
        actor=Actor.from_request(request),
        survey=survey,
        trigger=trigger,
        data={
            "touchpoint": trigger.touchpoint.code,
            "delay_minutes": trigger.delay_minutes,
            "sampling_percent": trigger.sampling_percent,
            "max_age_days": trigger.max_age_days,
            "active": False,
        },
    )
    messages.success(request, _("Trigger switched off."))
    return redirect(reverse("feedback:survey", args=[survey.pk]) + "#triggers")


@require_POST
@role_required("feedback.change_survey")
def kiosk_add(request, survey_id):
    survey = _survey_for(request, survey_id)
    form = KioskForm(request.POST)
    if form.is_valid():
        try:
            services.kiosk_create(
                actor=Actor.from_request(request), survey=survey, data=form.kiosk_data()
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Kiosk added; open its address on the tablet."))
            return redirect(reverse("feedback:survey", args=[survey.pk]) + "#kiosks")
    return _detail_page(request, survey, kiosk_form=form, status=400)


def _kiosk_action(request, survey_id, kiosk_id, service, done: str):
    survey = _survey_for(request, survey_id)
    kiosk = get_object_or_404(Kiosk, pk=kiosk_id, survey=survey)
    try:
        service(actor=Actor.from_request(request), kiosk=kiosk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect(reverse("feedback:survey", args=[survey.pk]) + "#kiosks")


@require_POST
@role_required("feedback.change_survey")
def kiosk_key(request, survey_id, kiosk_id):
    return _kiosk_action(
        request,
        survey_id,
        kiosk_id,
        services.kiosk_key_replace,
        _("New key: the kiosk's old address no longer works."),
    )


@require_POST
@role_required("feedback.change_survey")
def kiosk_deactivate(request, survey_id, kiosk_id):
    return _kiosk_action(
        request, survey_id, kiosk_id, services.kiosk_deactivate, _("Kiosk switched off.")
    )


@require_POST
@role_required("feedback.view_survey", "feedback.add_invitation")
def survey_paper(request, survey_id):
    survey = _survey_for(request, survey_id)
    form = PaperForm(request.POST)
    if form.is_valid():
        try:
            invitations = services.paper_invitations_create(
                actor=Actor.from_request(request),
                survey=survey,
                count=form.cleaned_data["count"],
                language=form.cleaned_data["language"],
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            response = HttpResponse(
                paper.questionnaires_pdf(invitations), content_type="application/pdf"
            )
            response["Content-Disposition"] = (
                f'attachment; filename="questionnaires-{survey.pk}.pdf"'
            )
            return response
    return _detail_page(request, survey, paper_form=form, status=400)


# --- agents key in answers: from paper, or on the phone -----------------------------------------


def _entry_problem(invitation) -> str | None:
    """Why this invitation's answers cannot be keyed in now, if they cannot."""
    if Response.objects.filter(invitation=invitation, status=Response.Status.COMPLETE).exists():
        return _("This questionnaire was already answered.")
    if invitation.survey.status != Survey.Status.OPEN:
        return _("This survey is closed.")
    if invitation.expires_at <= timezone.now():
        return _("This code has expired.")
    return None


@role_required("feedback.add_response")
def entry(request):
    form = ShortCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_by_short_code(form.cleaned_data["short_code"])
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            problem = _entry_problem(invitation)
            if problem:
                form.add_error("short_code", problem)
            else:
                return redirect("feedback:entry_answers", invitation.short_code)
    status = 400 if form.is_bound else 200
    return render(request, "feedback/entry.html", {"form": form}, status=status)


@role_required("feedback.add_response")
def entry_answers(request, code):
    try:
        invitation = services.invitation_by_short_code(code)
    except ValidationError:
        raise Http404 from None
    problem = _entry_problem(invitation)
    if problem:
        messages.error(request, problem)
        return redirect("feedback:entry")
    survey = queries.survey_get(invitation.survey_id)
    channel = (
        AnswerChannel.PHONE if invitation.channel == AnswerChannel.PHONE else AnswerChannel.PAPER
    )
    form = AnswersForm(request.POST or None, survey=survey, language=invitation.language)
    if request.method == "POST" and form.is_valid():
        try:
            services.response_enter(
                actor=Actor.from_request(request),
                invitation=invitation,
                answers=form.answers(),
                channel=channel,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            customer = invitation.customer
            if customer is not None:
                messages.success(
                    request,
                    format_html(
                        '{} <a href="{}">{}</a>',
                        _("Answers saved."),
                        reverse("customers:detail", args=[customer.pk]),
                        _("Back to the customer"),
                    ),
                )
            else:
                messages.success(request, _("Answers saved. Key in the next questionnaire."))
            return redirect("feedback:entry")
    return render(
        request,
        "feedback/entry_answers.html",
        {
            "invitation": invitation,
            "code": services.short_code_display(invitation.short_code),
            "survey": survey,
            "channel": AnswerChannel(channel).label,
            "form": form,
            "title": survey.title_fr if invitation.language == "fr" else survey.title_en,
        },
        status=400 if form.is_bound else 200,
    )


def _number(text) -> int:
    if not str(text or "").isdigit():
        raise Http404
    return int(text)


@role_required("feedback.add_response", "feedback.add_invitation", "customers.view_personal_data")
def phone(request):
    customer = customer_get_for(request.user, _number(request.GET.get("customer")))
    interaction = None
    if request.GET.get("interaction"):
        interaction = get_object_or_404(
            Interaction.objects.select_related("touchpoint"),
            pk=_number(request.GET["interaction"]),
            customer=customer,
        )
    surveys = Survey.objects.filter(status=Survey.Status.OPEN).order_by("name", "id")
    form = PhoneSurveyForm(request.POST or None, surveys=surveys)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                survey=form.cleaned_data["survey"],
                channel=AnswerChannel.PHONE,
                customer=customer,
                interaction=interaction,
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("feedback:entry_answers", invitation.short_code)
    return render(
        request,
        "feedback/phone.html",
        {"customer": customer, "interaction": interaction, "form": form},
        status=400 if form.is_bound else 200,
    )
