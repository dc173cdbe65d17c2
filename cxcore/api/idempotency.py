"""Idempotency-Key: a retried write gets the first answer back instead of acting twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cxcore.api.errors import ApiError
from cxcore.api.models import IdempotencyRecord


def idempotent(request, endpoint: str, payload, compute: Callable[[], tuple[int, dict]]):
    """Run `compute` once per (user, Idempotency-Key); return (status, body)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return compute()
    if len(key) > 200:
        raise ApiError(
            422,
            "invalid_idempotency_key",
            _("Idempotency-Key has at most 200 characters."),
            "Idempotency-Key",
        )
    request_hash = hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode()
    ).hexdigest()
    record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
    if record is None:
        status, body = compute()
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    user=request.user,
                    key=key,
                    endpoint=endpoint,
                    request_hash=request_hash,
                    status_code=status,
                    body=body,
                )
            return status, body
        except IntegrityError:
            # A concurrent retry stored its answer first; both did the same idempotent work.
            record = IdempotencyRecord.objects.get(user=request.user, key=key)
    if record.endpoint != endpoint or record.request_hash != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            _("This Idempotency-Key was already used for a different request."),
            "Idempotency-Key",
        )
    return record.status_code, record.body
