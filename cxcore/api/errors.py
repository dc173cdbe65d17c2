"""One error shape for the whole API: {"error": {"code", "message", "field"?, "errors"?}}."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

log = logging.getLogger("cxcore.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_body(code: str, message: str, field: str | None = None, errors=None) -> dict:
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    return {"error": body}


def django_validation_errors(exc: DjangoValidationError) -> list[dict]:
    if hasattr(exc, "error_dict"):
        return [
            {"field": name, "code": error.code or "invalid", "message": " ".join(error.messages)}
            for name, errors in exc.error_dict.items()
            for error in errors
        ]
    return [
        {"field": None, "code": e.code or "invalid", "message": m}
        for e in exc.error_list
        for m in e.messages
    ]


def _location(loc) -> str:
    # ninja reports ("body", "payload", "items", 3, "email"); people want "items.3.email".
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path", "header")]
    return ".".join(parts)


def install(api) -> None:
    @api.exception_handler(ApiError)
    def on_api_error(request, exc: ApiError):
        return api.create_response(
            request, error_body(exc.code, exc.message, exc.field), status=exc.status
        )

    @api.exception_handler(NinjaValidationError)
    def on_schema_error(request, exc: NinjaValidationError):
        errors = [
            {
                "field": _location(e.get("loc", ())),
                "code": e.get("type", "invalid"),
                "message": e.get("msg", ""),
            }
            for e in exc.errors
        ]
        first = errors[0] if errors else {"field": None, "message": ""}
        return api.create_response(
            request,
            error_body(
                "invalid",
                _("%(field)s: %(message)s") % {"field": first["field"], "message": first["message"]}
                if errors
                else _("Invalid request."),
                first["field"],
                errors,
            ),
            status=422,
        )

    @api.exception_handler(DjangoValidationError)
    def on_model_error(request, exc: DjangoValidationError):
        errors = django_validation_errors(exc)
        first = errors[0]
        return api.create_response(
            request,
            error_body(first["code"], first["message"], first["field"], errors),
            status=422,
        )

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request, exc):
        return api.create_response(
            request,
            error_body(
                "unauthenticated",
                _("Send a valid API token as 'Authorization: Bearer <token>', or log in."),
            ),
            status=401,
        )

    @api.exception_handler(PermissionDenied)
    def on_forbidden(request, exc):
        return api.create_response(
            request,
            error_body("forbidden", str(exc) or _("Your role does not allow this.")),
            status=403,
        )

    @api.exception_handler(Http404)
    def on_not_found(request, exc):
        return api.create_response(request, error_body("not_found", _("Not found.")), status=404)

    @api.exception_handler(RequestDataTooBig)
    def on_too_big(request, exc):
        return api.create_response(
            request,
            error_body(
                "request_too_large",
                _("The request body is larger than %(size)d MB; send smaller batches.")
                % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1_000_000},
            ),
            status=413,
        )

    @api.exception_handler(Exception)
    def on_unexpected(request, exc: Exception):
        # The details go to the log for operators, never to the client.
        log.exception("API error on %s %s", request.method, request.path)
        return api.create_response(
            request,
            error_body(
                "server_error",
                _(
                    "Something went wrong on our side. Retrying the same request is safe: "
                    "nothing is written twice."
                ),
            ),
            status=500,
        )

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        return api.create_response(
            request, error_body("http_error", str(exc)), status=exc.status_code
        )
