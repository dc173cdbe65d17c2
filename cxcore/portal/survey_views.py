"""Public survey pages: answer by link in steps, start from a QR code, and the kiosk in store.

No login and no session: the invitation's token is the key. Each step is posted and saved
as a partial response, so branching works without JavaScript and a person can come back.

The forms carry no CSRF token and set no cookie. The secret is in the URL (the token, the
kiosk's key) or is public on purpose (a poster's code): a forged post needs the URL, and
whoever has it can post anyway; and a CSRF cookie would be the one cookie these pages set.
"""

from __future__ import annotations

import io
from contextlib import contextmanager, suppress
from ipaddress import ip_address
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseNotFound
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from cxcore.feedback import services as feedback_services
from cxcore.feedback import steps
from cxcore.feedback.models import Survey
from cxcore.membrane import queries as membrane_queries
from cxcore.membrane.links import LinkInvalid
from cxcore.portal.queries import customer_survivor
from cxcore.portal.survey_forms import posted_answers, question_fields
from cxcore.portal.views import (
    PAGE_LANGUAGES,
    _asked_language,
    _page,
    _see_other,
    _with_language,
    portal_page,
)

# Starting from a QR code creates a row: a few per visitor, not a flood from one address.
QR_STARTS_PER_WINDOW = 20
QR_WINDOW_SECONDS = 10 * 60
# A kiosk goes back to its start screen after a thank-you, and when left in the middle of a
# survey, so that the next person sees nothing of the previous one's answers.
KIOSK_THANKS_SECONDS = 10
KIOSK_IDLE_SECONDS = 10 * 60
KIOSK_WAIT_SECONDS = 60
UNAVAILABLE_STATUS = {"unknown": 404, "rate": 429, "busy": 429}


@contextmanager
def _survey_language(request, invitation=None):
    """The invitation's language (or ?lang=, for this page only), in the customer's time zone."""
    language = _asked_language(request)
    if language is None and invitation is not None and invitation.language in PAGE_LANGUAGES:
        language = invitation.language
    if language is None:
        active = (translation.get_language() or "")[:2]
        language = active if active in PAGE_LANGUAGES else "en"
    zone = timezone.get_current_timezone()
    customer = invitation.customer if invitation is not None else None
    if customer is not None:
        with suppress(ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(customer.time_zone)
    with translation.override(language), timezone.override(zone):
        yield language


def _kiosk_url(kiosk) -> str:
    return reverse("portal:kiosk", kwargs={"key": kiosk.key})


def _survey_url(request, token: str, name: str = "survey", **params) -> str:
    return _with_language(request, reverse(f"portal:{name}", kwargs={"token": token}), **params)


def _unavailable(request, kind: str, *, invitation=None, kiosk=None):
    """The same friendly page for every link that cannot be answered; it names no one."""
    if kiosk is None and invitation is not None:
        kiosk = invitation.kiosk
    with _survey_language(request, invitation):
        context = {"kind": kind}
        if kiosk is not None:
            context["kiosk_url"] = _kiosk_url(kiosk)
            context["refresh_url"] = context["kiosk_url"]
            context["refresh_seconds"] = (
                KIOSK_THANKS_SECONDS if kind == "used" else KIOSK_WAIT_SECONDS
            )
        return _page(
            request,
            "portal/survey_unavailable.html",
            context,
            status=UNAVAILABLE_STATUS.get(kind, 410),
        )


def _client_ip(request) -> str:
    address = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ip_address(address))
    except ValueError:
        return "unknown"


def _over_limit(key: str, limit: int, seconds: int) -> bool:
    """Count one more in a fixed window kept in the cache; True past the limit."""
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=seconds)
        count = 1
    return count > limit


# --- answering, step by step -------------------------------------------------------------------


@csrf_exempt  # see the module's docstring
@portal_page
@require_http_methods(["GET", "HEAD", "POST"])
def survey(request, token):
    now = timezone.now()
    answering = steps.answering_open(token, now=now)
    if answering.refusal:
        return _unavailable(request, answering.refusal, invitation=answering.invitation)
    with _survey_language(request, answering.invitation) as language:
        if request.method == "POST":
            return _step_post(request, answering, language, now=now)
        index = _asked_step(request, answering)
        return _step_page(request, answering, language, index, values=answering.given)


def _asked_step(request, answering) -> int:
    """The step in ?step= when it may be shown (going back), else the first one unanswered."""
    with suppress(TypeError, ValueError):
        index = int(request.GET.get("step")) - 1
        if steps.step_reachable(answering.steps, index, answering.given):
            return index
    return steps.step_to_resume(answering.steps, answering.given)


def _step_post(request, answering, language: str, *, now):
    invitation, survey = answering.invitation, answering.survey
    try:
        index = int(request.POST.get("step", "")) - 1
    except ValueError:
        index = -1
    if not steps.step_reachable(answering.steps, index, answering.given):
        # A page left open while the answers changed elsewhere: show the step to answer now.
        return _see_other(_survey_url(request, invitation.token))
    step = answering.steps[index]
    merged = dict(answering.given)
    for key, value in posted_answers(step, request.POST).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    merged = steps.answers_kept(answering.questions, merged)

    following = steps.step_next(answering.steps, index, merged)
    saving = request.POST.get("action") == "save" and invitation.kiosk_id is None
    if saving or following is not None:
        problems = {} if saving else steps.step_problems(survey, merged, keys=_keys(step))
        complete = False
    else:
        problems, complete = {}, True
    if not problems:
        try:
            feedback_services.response_submit(
                token=invitation.token, answers=merged, complete=complete, now=now
            )
        except ValidationError as exc:
            if "token" in exc.message_dict:
                again = steps.answering_open(invitation.token, now=timezone.now())
                kind = again.refusal or feedback_services.refusal_code(exc) or "used"
                return _unavailable(request, kind, invitation=invitation)
            problems = exc.message_dict
        else:
            if saving:
                return _see_other(_survey_url(request, invitation.token, "survey_saved"))
            if complete:
                return _see_other(_survey_url(request, invitation.token, "survey_thanks"))
            return _see_other(_survey_url(request, invitation.token, step=following + 1))
    return _step_page(request, answering, language, index, values=merged, problems=problems)


def _keys(step) -> set[str]:
    return {question.key for question in step}


def _step_page(request, answering, language: str, index: int, *, values: dict, problems=None):
    invitation, survey = answering.invitation, answering.survey
    problems = problems or {}
    step = answering.steps[index]
    by_key = {
        name.removeprefix("answers."): messages
        for name, messages in problems.items()
        if name.startswith("answers.")
    }
    fields = question_fields(
        steps.step_questions(step, values), language=language, values=values, problems=by_key
    )
    position, total = steps.step_progress(answering.steps, index, values)
    previous = steps.step_previous(answering.steps, index, values)
    context = {
        "survey_title": getattr(survey, f"title_{language}"),
        "intro": getattr(survey, f"intro_{language}") if position == 1 else "",
        "fields": fields,
        "problems": _summary(request, answering, fields, problems, values),
        "position": position,
        "total": total,
        "last": position >= total,
        "step_number": index + 1,
        "form_action": _with_language(request, request.path),
        "previous_url": None
        if previous is None
        else _survey_url(request, invitation.token, step=previous + 1),
        "can_save": invitation.kiosk_id is None,
    }
    if invitation.kiosk_id is not None:
        context["refresh_url"] = _kiosk_url(invitation.kiosk)
        context["refresh_seconds"] = KIOSK_IDLE_SECONDS
    return _page(request, "portal/survey_step.html", context, status=422 if problems else 200)


def _summary(request, answering, fields, problems: dict, values: dict) -> list[dict]:
    """Every error, in page order, each with a link to its input (or to its step elsewhere)."""
    found = []
    on_page = {field["key"] for field in fields}
    for field in fields:
        for message in field["errors"]:
            found.append(
                {"href": f"#{field['anchor']}", "label": field["text"], "message": message}
            )
    step_of = {q.key: (n, q) for n, step in enumerate(answering.steps) for q in step}
    for name, messages in problems.items():
        key = name.removeprefix("answers.")
        if key in on_page:
            continue
        href, label = "", ""
        if key in step_of:
            n, question = step_of[key]
            href = _survey_url(request, answering.invitation.token, step=n + 1)
            label = getattr(question, f"text_{translation.get_language()}", "")
        for message in messages:
            found.append({"href": href, "label": label, "message": message})
    return found


@portal_page
@require_safe
def survey_saved(request, token):
    """After "save and finish later": the link works again until it expires."""
    answering = steps.answering_open(token, now=timezone.now())
    if answering.refusal:
        return _unavailable(request, answering.refusal, invitation=answering.invitation)
    invitation = answering.invitation
    with _survey_language(request, invitation) as language:
        return _page(
            request,
            "portal/survey_saved.html",
            {
                "survey_title": getattr(invitation.survey, f"title_{language}"),
                "expires_at": invitation.expires_at,
                "continue_url": _survey_url(request, token),
            },
        )


@portal_page
@require_safe
def survey_thanks(request, token):
    invitation = steps.answering_done(token)
    if invitation is None:
        answering = steps.answering_open(token, now=timezone.now())
        if answering.refusal:
            return _unavailable(request, answering.refusal, invitation=answering.invitation)
        return _see_other(_survey_url(request, token))  # not finished yet
    with _survey_language(request, invitation) as language:
        context = {
            "survey_title": getattr(invitation.survey, f"title_{language}"),
            "thanks": getattr(invitation.survey, f"thanks_{language}"),
            "tell_back": _feedback_consented(invitation),
        }
        if invitation.kiosk is not None:
            context["kiosk_url"] = _kiosk_url(invitation.kiosk)
            context["refresh_url"] = context["kiosk_url"]
            context["refresh_seconds"] = KIOSK_THANKS_SECONDS
        return _page(request, "portal/survey_thanks.html", context)


def _feedback_consented(invitation) -> bool:
    """Whether we may write back to this customer about their feedback: a consent granted."""
    if invitation.customer is None:
        return False
    try:
        customer = customer_survivor(invitation.customer)
    except LinkInvalid:
        return False
    states = membrane_queries.customer_membrane(customer)["consent_states"]
    return any(
        state.granted for (purpose, _channel), state in states.items() if purpose == "feedback"
    )


# --- QR code and kiosk -------------------------------------------------------------------------


@csrf_exempt  # see the module's docstring
@portal_page
@require_http_methods(["GET", "HEAD", "POST"])
def survey_qr(request, public_code):
    """A survey's poster link: the GET only shows it; "Start" makes one anonymous invitation."""
    with _survey_language(request) as language:
        if request.method == "POST" and _over_limit(
            f"portal:qr:{_client_ip(request)}", QR_STARTS_PER_WINDOW, QR_WINDOW_SECONDS
        ):
            return _unavailable(request, "busy")
        survey = steps.public_survey(public_code)
        if survey is None:
            return _unavailable(request, "unknown")
        if request.method == "POST":
            try:
                invitation = feedback_services.public_invitation_create(
                    public_code=public_code, language=language
                )
            except ValidationError as exc:
                return _unavailable(request, feedback_services.refusal_code(exc) or "closed")
            return _see_other(reverse("portal:survey", kwargs={"token": invitation.token}))
        if survey.status != Survey.Status.OPEN:
            return _unavailable(request, "closed")
        return _start_page(request, survey, language, kiosk=False)


def _start_page(request, survey, language: str, *, kiosk: bool):
    return _page(
        request,
        "portal/survey_start.html",
        {
            "survey_title": getattr(survey, f"title_{language}"),
            "intro": getattr(survey, f"intro_{language}"),
            "kiosk": kiosk,
            "form_action": _with_language(request, request.path),
        },
    )


@portal_page
@require_safe
def survey_qr_image(request, public_code):
    """The QR code of a survey's poster link, as SVG, for staff to print."""
    survey = steps.public_survey(public_code)
    if survey is None:
        return HttpResponseNotFound(_("This link is not known."), content_type="text/plain")
    import segno  # only this image needs it

    url = settings.SITE_URL.rstrip("/") + reverse(
        "portal:survey_qr", kwargs={"public_code": survey.public_code}
    )
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        buffer, kind="svg", scale=8, border=4, title=url, xmldecl=False
    )
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response.headers["Content-Disposition"] = 'inline; filename="survey-qr.svg"'
    return response


@csrf_exempt  # see the module's docstring
@portal_page
@require_http_methods(["GET", "HEAD", "POST"])
def kiosk(request, key):
    """A store tablet's start screen; each "Give your opinion" is a fresh anonymous invitation."""
    found = steps.kiosk_get(key)
    with _survey_language(request) as language:
        if found is None:
            return _unavailable(request, "unknown")
        if request.method == "POST":
            try:
                invitation = feedback_services.kiosk_invitation_create(key=key, language=language)
            except ValidationError as exc:
                code = feedback_services.refusal_code(exc)  # "rate", or "closed"
                return _unavailable(request, code or "closed", kiosk=found)
            return _see_other(reverse("portal:survey", kwargs={"token": invitation.token}))
        if found.survey.status != Survey.Status.OPEN:
            return _unavailable(request, "closed", kiosk=found)
        return _start_page(request, found.survey, language, kiosk=True)
