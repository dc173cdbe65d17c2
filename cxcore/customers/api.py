"""REST endpoints of the nucleus: customers, identities, attributes, merges, segments."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from cxcore.api.auth import require
from cxcore.api.errors import ApiError
from cxcore.customers import queries, services
from cxcore.customers.models import ContactKind, Customer, IdentityConflict, Segment

router = Router(tags=["customers"])

ContactKindName = Literal["email", "phone", "postal", "external_id", "loyalty_card", "social"]


class ContactPointIn(Schema):
    kind: ContactKindName
    value: str = Field(max_length=320)
    system: str = Field("", max_length=50)
    verified: bool = False


class CustomerIn(Schema):
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    language: Literal["fr", "en"] = "fr"
    time_zone: str = Field("Europe/Paris", max_length=64)
    contact_points: list[ContactPointIn] = Field(default_factory=list, max_length=20)


class CustomerPatch(Schema):
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    language: Literal["fr", "en"] | None = None
    time_zone: str | None = Field(None, max_length=64)


class AttributeIn(Schema):
    key: str = Field(pattern=r"^[-a-zA-Z0-9_]{1,50}$")
    value: str = Field(max_length=500)
    channel: str = Field(max_length=20)
    declared_at: datetime | None = None


class MergeIn(Schema):
    other: int = Field(description="The customer merged into this one (it becomes a tombstone).")
    reason: str = Field("", max_length=200)


class SegmentIn(Schema):
    name: str = Field(max_length=120)
    description: str = ""
    rules: list[dict] = Field(default_factory=list)


def customer_out(customer: Customer, *, personal: bool, detail: bool = False) -> dict:
    """A customer as the API shows it; names and contact details only with the right role."""
    out = {
        "id": customer.pk,
        "reference": customer.reference,
        "language": customer.language,
        "time_zone": customer.time_zone,
        "lifecycle_stage": customer.lifecycle_stage,
        "intensity": customer.intensity,
        "first_interaction_at": customer.first_interaction_at,
        "last_interaction_at": customer.last_interaction_at,
        "merged_into": customer.merged_into_id,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }
    if personal:
        out["first_name"] = customer.first_name
        out["last_name"] = customer.last_name
    if detail:
        if personal:
            out["contact_points"] = [
                {
                    "id": p.pk,
                    "kind": p.kind,
                    "system": p.system,
                    "value": p.value,
                    "verified": p.verified,
                    "source": p.source,
                }
                for p in customer.contact_points.all()
            ]
        out["attributes"] = [
            {"key": a.key, "value": a.value, "declared_at": a.declared_at, "channel": a.channel}
            for a in customer.attributes.all()
        ]
    return out


def _personal(request) -> bool:
    return request.user.has_perm("customers.view_personal_data")


@router.get("/customers", summary="Search customers")
def customers_list(
    request,
    q: str = "",
    lifecycle_stage: str = "",
    language: str = "",
    segment: int | None = None,
    page: int = 1,
    page_size: int = 50,
):
    require(request, "customers.view_customer")
    personal = _personal(request)
    segment_obj = get_object_or_404(Segment, pk=segment) if segment else None
    qs = queries.customers_search(
        text=q,
        lifecycle_stage=lifecycle_stage,
        language=language,
        segment=segment_obj,
        allow_contact_search=personal,
    )
    paginator = Paginator(qs, max(1, min(page_size, 200)))
    page_obj = paginator.get_page(page)
    return {
        "count": paginator.count,
        "page": page_obj.number,
        "pages": paginator.num_pages,
        "items": [customer_out(c, personal=personal) for c in page_obj],
    }


@router.post("/customers", response={201: dict}, summary="Create a customer")
def customers_create(request, payload: CustomerIn):
    actor = require(request, "customers.add_customer", write=True)
    customer = services.customer_create(
        actor=actor,
        first_name=payload.first_name,
        last_name=payload.last_name,
        language=payload.language,
        time_zone=payload.time_zone,
        contact_points=[p.dict() for p in payload.contact_points],
    )
    return 201, customer_out(customer, personal=_personal(request), detail=True)


@router.get("/customers/{customer_id}", summary="One customer")
def customers_get(request, customer_id: int):
    actor = require(request, "customers.view_customer")
    customer = queries.customer_get_for(request.user, customer_id)
    personal = _personal(request)
    if personal:
        services.audit_record(
            actor=actor, action="view", target="customer", customer_id=customer.pk
        )
    return customer_out(customer, personal=personal, detail=True)


@router.patch("/customers/{customer_id}", summary="Change a customer's profile")
def customers_update(request, customer_id: int, payload: CustomerPatch):
    actor = require(request, "customers.change_customer", write=True)
    customer = queries.customer_get_for(request.user, customer_id)
    services.customer_update(actor=actor, customer=customer, **payload.dict(exclude_none=True))
    return customer_out(customer, personal=_personal(request), detail=True)


@router.post(
    "/customers/{customer_id}/contact-points", response={201: dict}, summary="Add a contact point"
)
def contact_points_add(request, customer_id: int, payload: ContactPointIn):
    actor = require(request, "customers.change_customer", write=True)
    require(request, "customers.view_personal_data")
    customer = queries.customer_get_for(request.user, customer_id)
    point = services.contact_point_add(actor=actor, customer=customer, **payload.dict())
    return 201, {"id": point.pk, "kind": point.kind, "system": point.system, "value": point.value}


@router.post("/customers/{customer_id}/attributes", summary="Record a declared attribute")
def attributes_declare(request, customer_id: int, payload: AttributeIn):
    actor = require(request, "customers.change_customer", write=True)
    customer = queries.customer_get_for(request.user, customer_id)
    attribute = services.attribute_declare(actor=actor, customer=customer, **payload.dict())
    return {
        "key": attribute.key,
        "value": attribute.value,
        "declared_at": attribute.declared_at,
        "channel": attribute.channel,
    }


def _timeline_filters(params) -> dict[str, str]:
    """The filters areas registered (the text area: sentiment, topic), each value checked."""
    filters = queries.timeline_filters_read(params)
    for name, value in filters.items():
        allowed = [code for code, _label in queries.TIMELINE_FILTERS[name].choices() if code]
        if value not in allowed:
            raise ApiError(
                422,
                "invalid",
                _("Unknown value %(value)s; use one of: %(choices)s.")
                % {"value": value, "choices": ", ".join(allowed)},
                name,
            )
    return filters


@router.get("/customers/{customer_id}/timeline", summary="A customer's timeline, newest first")
def customers_timeline(request, customer_id: int, limit: int = 50, before: datetime | None = None):
    """Pass the response's `older` as `before` to read further back.

    Areas add filters as query parameters (`sentiment`, `topic`: notes and comments read so)
    and add what they know of an event under `annotations` (a note's or comment's sentiment
    and topics).
    """
    require(request, "customers.view_customer")
    customer = queries.customer_get_for(request.user, customer_id)
    filters = _timeline_filters(request.GET)
    events = []
    limit = max(1, min(limit, 200))
    page = queries.timeline_page(customer, before=before, size=limit, filters=filters)
    for event in page["timeline"]:
        item = {"at": event.at, "kind": event.kind}
        obj = event.object
        if event.kind == "interaction":
            item.update(
                interaction_id=obj.pk,
                touchpoint=obj.touchpoint.code,
                channel=obj.channel,
                direction=obj.direction,
                interaction_kind=obj.kind,
                outcome=obj.outcome,
            )
        elif event.kind in ("merge_in", "merge_out"):
            item.update(survivor=obj.survivor_id, merged=obj.merged_id, moved=obj.moved)
        elif event.kind == "attribute":
            item.update(key=obj.key, value=obj.value, channel=obj.channel)
        else:  # an area's own event (a survey response…): what that area says of it
            item.update(event.data)
        if event.annotations:
            # What the page shows, less the template and the complaint sentences (the texts
            # themselves are not in the timeline's answer).
            item["annotations"] = [
                {
                    key: value
                    for key, value in annotation.items()
                    if key not in ("template", "complaints")
                }
                for annotation in event.annotations
            ]
        events.append(item)
    return {"customer": customer.pk, "events": events, "older": page["timeline_older"]}


@router.post("/customers/{customer_id}/merge", summary="Merge another customer into this one")
def customers_merge(request, customer_id: int, payload: MergeIn):
    actor = require(request, "customers.merge_customer", write=True)
    survivor = queries.customer_get_for(request.user, customer_id)
    merged = queries.customer_get_for(request.user, payload.other)
    merge = services.customer_merge(
        actor=actor, survivor=survivor, merged=merged, reason=payload.reason
    )
    return {
        "merge_id": merge.pk,
        "survivor": merge.survivor_id,
        "merged": merge.merged_id,
        "moved": merge.moved,
    }


@router.get("/identity-conflicts", summary="Records that matched two customers")
def conflicts_list(request):
    require(request, "customers.view_identityconflict")
    personal = _personal(request)
    return [
        {
            "id": c.pk,
            "customer": c.customer_id,
            "other_customer": c.other_customer_id,
            "kind": c.kind,
            "value": c.value if personal else None,
            "created_at": c.created_at,
        }
        for c in queries.identity_conflicts_open()[:500]
    ]


@router.post("/identity-conflicts/{conflict_id}/dismiss", summary="Not the same person")
def conflicts_dismiss(request, conflict_id: int):
    actor = require(request, "customers.change_identityconflict", write=True)
    conflict = get_object_or_404(IdentityConflict, pk=conflict_id)
    services.identity_conflict_dismiss(actor=actor, conflict=conflict)
    return {"id": conflict.pk, "status": conflict.status}


def segment_out(segment: Segment) -> dict:
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "rules": segment.rules,
    }


@router.get("/segments", summary="Saved segments")
def segments_list(request):
    require(request, "customers.view_segment")
    return [segment_out(s) for s in Segment.objects.all()]


@router.post("/segments", response={201: dict}, summary="Save a segment")
def segments_create(request, payload: SegmentIn):
    actor = require(request, "customers.add_segment", write=True)
    with transaction.atomic():
        segment = services.segment_save(actor=actor, **payload.dict())
    return 201, {**segment_out(segment), "count": queries.segment_members(segment).count()}


@router.get("/segments/{segment_id}", summary="A segment and how many customers it holds")
def segments_get(request, segment_id: int):
    require(request, "customers.view_segment")
    segment = get_object_or_404(Segment, pk=segment_id)
    return {**segment_out(segment), "count": queries.segment_members(segment).count()}


__all__ = ["router", "ContactKind"]
