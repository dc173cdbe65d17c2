"""API tokens: creation (shown once), lookup in constant time, revocation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.api.models import ApiToken
from cxcore.customers.services import audit_record
from cxcore.lib.actor import Actor

TOKEN_PREFIX = "cx_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, actor: Actor, name: str, scope: str = ApiToken.Scope.READ, days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token for the acting user; return it and the plain secret, which is never kept."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. the system that uses it.")})
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": _("Use read or write.")})
    days = days or settings.API_TOKEN_DEFAULT_DAYS
    if not 1 <= days <= 366:
        raise ValidationError({"days": _("A token lives from 1 to 366 days.")})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor.user,
        name=name,
        prefix=prefix,
        secret_hash=_digest(secret),
        scope=scope,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action="create_token",
        target="api_token",
        changes={"name": name, "prefix": prefix, "scope": scope, "days": days},
    )
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, action="revoke_token", target="api_token", changes={"prefix": token.prefix}
        )


def api_token_authenticate(presented: str) -> ApiToken | None:
    """The usable token matching this string, or None. Compares digests in constant time."""
    if not presented.startswith(TOKEN_PREFIX):
        return None
    prefix, _sep, secret = presented[len(TOKEN_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Hash even when no row matched, so timing does not reveal which prefixes exist.
    candidate = _digest(secret)
    expected = token.secret_hash if token else "0" * 64
    if not hmac.compare_digest(candidate, expected) or token is None:
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
