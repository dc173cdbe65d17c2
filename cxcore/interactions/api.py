"""REST endpoints for the interaction log: ingest one, ingest a batch, search, touchpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from cxcore.api.auth import require
from cxcore.api.errors import ApiError, error_body
from cxcore.api.idempotency import idempotent
from cxcore.interactions import queries
from cxcore.interactions.ingest import FieldError, References, RowValidator
from cxcore.interactions.models import Touchpoint
from cxcore.interactions.services import WriteResult, interactions_ingest

router = Router(tags=["interactions"])


class InteractionIn(Schema):
    """One interaction. Say who the customer is with at least one identity field."""

    occurred_at: str = Field(
        description="ISO 8601 with a time zone, e.g. 2026-03-01T14:30:00+01:00"
    )
    touchpoint: str = Field(description="Touchpoint code")
    channel: str = Field(
        description="phone, email, sms, web, app, store, postal, social, chat, in_person"
    )
    direction: str | None = "inbound"
    kind: str | None = None
    outcome: str | None = None
    employee: str | None = None
    team: str | None = None
    partner: str | None = None
    site: str | None = None
    note: str | None = None
    source: str | None = Field(None, description="Source system code; defaults to 'api'")
    external_id: str | None = Field(None, description="Id in the source system; makes replays safe")
    customer: str | int | None = Field(
        None, description="A cxcore customer reference, e.g. C0000042"
    )
    customer_external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    loyalty_card: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = None
    metadata: dict[str, Any] | None = None


class BatchIn(Schema):
    items: list[dict[str, Any]] = Field(
        max_length=settings.INGEST_BATCH_MAX_ITEMS,
        description="Up to 10,000 objects shaped like InteractionIn; each gets its own result.",
    )


def _result_out(index: int, result: WriteResult) -> dict:
    out = {"index": index, "status": result.status}
    if result.status == "error":
        out["errors"] = [e.as_dict() for e in result.errors]
    else:
        out["id"] = result.interaction_id
        out["customer_id"] = result.customer_id
        if result.status == "created":
            out["customer_created"] = result.customer_created
            out["identity_conflict"] = result.identity_conflict
    return out


def _ingest(items: list[dict], actor) -> list[WriteResult]:
    validator = RowValidator(References.load(), default_source="api")
    results: list[WriteResult | None] = [None] * len(items)
    valid_rows, positions = [], []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            results[index] = WriteResult(
                status="error", errors=[FieldError("", "invalid_type", _("Expected an object."))]
            )
            continue
        row, errors = validator.validate(raw, index=index)
        if errors:
            results[index] = WriteResult(status="error", errors=errors)
            continue
        key = (row.source, row.external_id)
        if key in seen:
            results[index] = WriteResult(
                status="error",
                errors=[
                    FieldError(
                        "external_id",
                        "duplicate_in_batch",
                        _("Same interaction as item %d of this batch.") % seen[key],
                    )
                ],
            )
            continue
        seen[key] = index
        valid_rows.append(row)
        positions.append(index)
    for index, result in zip(positions, interactions_ingest(valid_rows, actor=actor), strict=True):
        results[index] = result
    return results  # type: ignore[return-value]


@router.post(
    "/interactions",
    response={200: dict, 201: dict, 422: dict},
    summary="Record one interaction",
)
def interactions_create(request, payload: InteractionIn):
    actor = require(request, "interactions.add_interaction", write=True)
    raw = payload.dict(exclude_none=True)

    def compute():
        result = _ingest([raw], actor)[0]
        if result.status == "error":
            first = result.errors[0]
            return 422, error_body(
                first.code, first.message, first.field, [e.as_dict() for e in result.errors]
            )
        return (201 if result.status == "created" else 200), _result_out(0, result)

    return idempotent(request, "interactions.create", raw, compute)


@router.post("/interactions/batch", summary="Record up to 10,000 interactions")
def interactions_batch(request, payload: BatchIn):
    actor = require(request, "interactions.add_interaction", write=True)
    if not payload.items:
        raise ApiError(422, "empty_batch", _("The batch has no items."), "items")

    def compute():
        results = _ingest(payload.items, actor)
        counts = {"created": 0, "existing": 0, "error": 0}
        for result in results:
            counts[result.status] += 1
        return 200, {
            "created": counts["created"],
            "existing": counts["existing"],
            "errors": counts["error"],
            "results": [_result_out(i, r) for i, r in enumerate(results)],
        }

    return idempotent(request, "interactions.batch", payload.items, compute)


@router.get("/interactions", summary="Search the interaction log")
def interactions_list(
    request,
    touchpoint: str = "",
    channel: str = "",
    customer: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    page_size: int = 100,
):
    require(request, "interactions.view_interaction")
    qs = queries.interactions_search(
        touchpoint=touchpoint, channel=channel, customer_id=customer, since=since, until=until
    )
    paginator = Paginator(qs, max(1, min(page_size, 500)))
    page_obj = paginator.get_page(page)
    return {
        "count": paginator.count,
        "page": page_obj.number,
        "pages": paginator.num_pages,
        "items": [
            {
                "id": i.pk,
                "customer_id": i.customer_id,
                "touchpoint": i.touchpoint.code,
                "channel": i.channel,
                "occurred_at": i.occurred_at,
                "direction": i.direction,
                "kind": i.kind,
                "outcome": i.outcome,
                "team": i.team.code if i.team else None,
                "partner": i.partner.code if i.partner else None,
                "site": i.site.code if i.site else None,
                "source": i.source,
                "external_id": i.external_id,
            }
            for i in page_obj
        ],
    }


@router.get("/touchpoints", summary="Touchpoints and their codes")
def touchpoints_list(request):
    require(request, "interactions.view_touchpoint")
    return [
        {
            "code": t.code,
            "name_en": t.name_en,
            "name_fr": t.name_fr,
            "kind": t.kind,
            "team": t.team.code if t.team else None,
            "partner": t.partner.code if t.partner else None,
            "active": t.is_active,
        }
        for t in Touchpoint.objects.select_related("team", "partner")
    ]
