"""Who is calling the API: a bearer token or a console session; and what they may do."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from cxcore.api.services import api_token_authenticate
from cxcore.lib.actor import Actor


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token
        return api_token.user


class ConsoleSessionAuth(SessionAuth):
    """The console's own session, with CSRF checked by ninja for unsafe methods."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None
        return user


AUTH = [TokenAuth(), ConsoleSessionAuth()]


def require(request, permission: str, *, write: bool = False) -> Actor:
    """Check the caller's role (and the token's scope for writes); return the acting Actor."""
    token = getattr(request, "api_token", None)
    if write and token is not None and not token.allows_write():
        raise PermissionDenied(_("This token is read-only; create a token with write scope."))
    if not request.user.has_perm(permission):
        raise PermissionDenied(_("Your role does not allow this."))
    return Actor(user=request.user, via="api", ip=request.META.get("REMOTE_ADDR"))
