"""Signed links that every message carries to the customer's side (portal).

A link names a decision and its purpose, and is bound to one use (preferences, why, unsubscribe)
by its salt: a "why" link cannot unsubscribe, an altered one fails its signature, an old one
expires. The payload holds two numbers and a purpose word, never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SCOPES = ("preferences", "why", "unsubscribe")


class LinkInvalid(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "expired" or "invalid"


@dataclass(frozen=True)
class LinkTarget:
    decision_id: int
    purpose: str


def portal_token(decision_id: int, purpose: str, scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(scope)
    return signing.dumps([decision_id, purpose], salt=f"cxcore.portal.{scope}", compress=False)


def portal_token_read(token: str, scope: str) -> LinkTarget:
    """The decision a link names, or LinkInvalid; never tells an attacker which check failed."""
    max_age = settings.PORTAL_LINK_MAX_AGE_DAYS * 86400
    try:
        payload = signing.loads(token, salt=f"cxcore.portal.{scope}", max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkInvalid("expired") from exc
    except signing.BadSignature as exc:
        raise LinkInvalid("invalid") from exc
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or not isinstance(payload[1], str)
    ):
        raise LinkInvalid("invalid")
    return LinkTarget(decision_id=payload[0], purpose=payload[1])


def portal_urls(decision_id: int, purpose: str) -> dict[str, str]:
    """Absolute links for one decided message: preference centre, why, one-click unsubscribe."""
    base = settings.SITE_URL.rstrip("/")
    return {
        scope: base
        + reverse(f"portal:{scope}", kwargs={"token": portal_token(decision_id, purpose, scope)})
        for scope in SCOPES
    }
