"""Public pages of the portal (no login: the signed link is the key)."""

from __future__ import annotations

from contextlib import contextmanager, suppress
from functools import wraps
from ipaddress import ip_address
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from cxcore.lib.actor import Actor
from cxcore.membrane.links import LinkInvalid, portal_token
from cxcore.membrane.models import MessageChannel, Purpose
from cxcore.membrane.reasons import reasons_for_display
from cxcore.portal import queries, services
from cxcore.portal.forms import CONSENT_WORDING, PreferenceCentreForm

# Each language named in itself, so anyone can find theirs.
PAGE_LANGUAGES = {"fr": "Français", "en": "English"}


def portal_page(view):
    """Headers on every portal answer: the URL holds a key, so it must not leak or be kept.

    "same-origin", not "no-referrer": the key never leaves for another site either way, but
    with "no-referrer" browsers post forms with `Origin: null`, which CSRF checks refuse.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    return wrapper


def _asked_language(request) -> str | None:
    asked = request.GET.get("lang")
    return asked if asked in PAGE_LANGUAGES else None


@contextmanager
def _speaking(request, customer=None):
    """Translate and show times the customer's way; ?lang= changes only this page's language."""
    language = _asked_language(request)
    if language is None and customer is not None and customer.language in PAGE_LANGUAGES:
        language = customer.language
    if language is None:
        active = translation.get_language() or ""
        language = active[:2] if active[:2] in PAGE_LANGUAGES else "en"
    zone = timezone.get_current_timezone()
    if customer is not None:
        with suppress(ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(customer.time_zone)
    with translation.override(language), timezone.override(zone):
        yield language


def _with_language(request, url: str, **params) -> str:
    """A URL of the portal that keeps the language the reader chose with ?lang=."""
    language = _asked_language(request)
    if language:
        params["lang"] = language
    return f"{url}?{urlencode(params)}" if params else url


def _page(request, template: str, context: dict, *, status: int = 200):
    language = translation.get_language()
    context["language_links"] = [
        {"code": code, "name": name, "url": f"?lang={code}", "current": code == language}
        for code, name in PAGE_LANGUAGES.items()
    ]
    response = render(request, template, context, status=status)
    response.headers["Content-Language"] = language
    return response


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303  # after a POST, the browser must GET the page again
    return response


def _link_invalid(request, kind: str):
    """The same friendly page for every bad link; it names no one and changes nothing."""
    with _speaking(request):
        return _page(
            request,
            "portal/link_invalid.html",
            {"expired": kind == "expired"},
            status=410 if kind == "expired" else 404,
        )


def _portal_url(request, scope: str, decision) -> str:
    token = portal_token(decision.pk, decision.purpose, scope)
    return _with_language(request, reverse(f"portal:{scope}", kwargs={"token": token}))


def _actor(request) -> Actor:
    ip = request.META.get("REMOTE_ADDR") or None
    try:
        ip = str(ip_address(ip)) if ip else None
    except ValueError:  # a Unix socket or a proxy's odd value: better no address than a wrong one
        ip = None
    return Actor(via="portal", ip=ip)


def _in_sentence(label) -> str:
    """A label as a word inside a sentence: "Email" -> "email", "SMS" stays."""
    text = str(label)
    return text if text.isupper() else text[:1].lower() + text[1:]


@portal_page
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request, token):
    try:
        decision, customer = queries.link_decision(token, "preferences")
    except LinkInvalid as exc:
        return _link_invalid(request, exc.kind)
    with _speaking(request, customer) as language:
        centre = queries.preference_centre(customer)
        initial = PreferenceCentreForm.initial_for(
            centre, language=customer.language, time_zone=customer.time_zone
        )
        form_kwargs = {"initial": initial, "centre": centre, "time_zone": customer.time_zone}
        # The wording is hashed as the customer read it: rendered now, in the page's language.
        wording_text = str(CONSENT_WORDING)
        if request.method == "POST":
            form = PreferenceCentreForm(request.POST, **form_kwargs)
            if form.is_valid():
                try:
                    services.preference_centre_save(
                        actor=_actor(request),
                        customer=customer,
                        consents=form.consent_changes(),
                        wording_text=wording_text,
                        language=language,
                        preferences=form.preferences_data(),
                        profile=form.profile_data(),
                        attributes=form.attribute_changes(),
                        user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    )
                except ValidationError as exc:
                    form.add_service_errors(exc.message_dict)
                else:
                    return _see_other(_with_language(request, request.path, saved="1"))
        else:
            form = PreferenceCentreForm(**form_kwargs)
        return _page(
            request,
            "portal/preferences.html",
            {
                "form": form,
                "problems": form.problems() if form.is_bound else [],
                "first_name": customer.first_name,
                "consent_wording": wording_text,
                "saved": request.method != "POST" and request.GET.get("saved") == "1",
                "form_action": _with_language(request, request.path),
                "why_url": _portal_url(request, "why", decision),
            },
            status=422 if form.is_bound else 200,
        )


@portal_page
@require_safe
def why(request, token):
    try:
        decision, customer = queries.link_decision(token, "why")
    except LinkInvalid as exc:
        return _link_invalid(request, exc.kind)
    with _speaking(request, customer):
        summary = queries.decision_summary(decision)
        summary["decision_reasons"] = reasons_for_display(summary["decision_reasons"])
        summary["delivery_reasons"] = reasons_for_display(summary["delivery_reasons"])
        not_sent = queries.decisions_not_sent(customer, now=timezone.now(), exclude_id=decision.pk)
        for item in not_sent:
            item["reasons"] = reasons_for_display(item["reasons"])
        return _page(
            request,
            "portal/why.html",
            {
                "first_name": customer.first_name,
                "summary": summary,
                "not_sent": not_sent,
                "not_sent_days": queries.NOT_SENT_DAYS,
                "preferences_url": _portal_url(request, "preferences", decision),
            },
        )


@csrf_exempt  # RFC 8058 one-click posts carry no CSRF token; the signed link is the key
@portal_page
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """Withdraw consent to the message's purpose by its channel; the GET only asks.

    Anyone can trigger the POST who holds the link, as mail clients do on the customer's
    behalf (List-Unsubscribe-Post), and all it can ever do is withdraw one consent.
    """
    try:
        decision, customer = queries.link_decision(token, "unsubscribe")
    except LinkInvalid as exc:
        return _link_invalid(request, exc.kind)
    channel = queries.decision_channel(decision)
    with _speaking(request, customer) as language:
        preferences_url = _portal_url(request, "preferences", decision)
        if channel not in MessageChannel.values:  # never sent: nothing to stop but in general
            return _see_other(preferences_url)
        names = {
            "purpose": _in_sentence(Purpose(decision.purpose).label),
            "channel": _in_sentence(MessageChannel(channel).label),
        }
        sentence = _("Stop %(purpose)s messages by %(channel)s") % names
        context = {
            "first_name": customer.first_name,
            "sentence": sentence,
            "names": names,
            "message_name": decision.message.name,
            "preferences_url": preferences_url,
            "form_action": _with_language(request, request.path),
        }
        if request.method == "POST":
            context["recorded"] = services.unsubscribe_record(
                actor=_actor(request),
                customer=customer,
                purpose=decision.purpose,
                channel=channel,
                wording_text=sentence,
                language=language,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            return _page(request, "portal/unsubscribed.html", context)
        return _page(request, "portal/unsubscribe.html", context)
