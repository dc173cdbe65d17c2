"""Inbound hooks from providers: SMS replies to survey invitations.

The provider signs each forwarded reply like cxcore signs its own webhooks: HMAC-SHA256 over
"timestamp.body" with SMS_INBOUND_SECRET, in X-Cxcore-Timestamp and X-Cxcore-Signature. A
stamp older than five minutes is refused, so a captured request cannot be replayed later;
a replay within the window answers the same invitation again, which changes nothing.
"""

from __future__ import annotations

import hmac
import json
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cxcore.api.errors import django_validation_errors, error_body
from cxcore.feedback import services
from cxcore.membrane.backends import webhook_signature

MAX_SKEW_SECONDS = 300
MAX_BODY_BYTES = 16_384


def _refuse(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    # The API's one error shape, so that a provider's logs read the same everywhere.
    return JsonResponse(error_body(code, message, field), status=status)


@csrf_exempt  # a provider's server posts here, with a signature instead of a cookie
@require_POST
def sms_inbound(request):
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        return _refuse(
            503, "not_configured", _("SMS replies are not configured (SMS_INBOUND_SECRET).")
        )
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _refuse(413, "too_large", _("The request is too large."))
    stamp = request.headers.get("X-Cxcore-Timestamp", "")
    given = request.headers.get("X-Cxcore-Signature", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
        return _refuse(401, "stale", _("Missing or stale timestamp."), "X-Cxcore-Timestamp")
    if not hmac.compare_digest(webhook_signature(secret, stamp, body), given):
        return _refuse(401, "signature", _("The signature does not match."), "X-Cxcore-Signature")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(422, "invalid", _("The body is not JSON."))
    if not isinstance(payload, dict):
        return _refuse(422, "invalid", _('Send {"from": "+33…", "text": "…"}.'))
    for field in ("from", "text"):
        if not isinstance(payload.get(field), str):
            return _refuse(422, "invalid", _("Required, as text."), field)
    try:
        result = services.sms_reply_record(phone=payload["from"], text=payload["text"])
    except ValidationError as exc:
        errors = django_validation_errors(exc)
        return JsonResponse(
            error_body("invalid", errors[0]["message"], errors[0]["field"], errors), status=422
        )
    return JsonResponse(result)
