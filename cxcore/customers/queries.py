"""Reads of the nucleus for pages and the API: search, the customer page, timelines, segments."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from cxcore.customers.models import (
    AuditEntry,
    ContactPoint,
    Customer,
    CustomerMerge,
    IdentityConflict,
    Segment,
)
from cxcore.customers.segments import segment_filter
from cxcore.lib.identity import IdentityError, normalise_email, normalise_phone

_REFERENCE = re.compile(r"^[Cc]?0*(\d{1,18})$")
_PHONEISH = re.compile(r"^[+\d][\d .()-]{5,}$")


def customer_get_for(user, pk: int) -> Customer:
    """The customer, if this user may see customers at all; otherwise 404, never 403."""
    if not user.has_perm("customers.view_customer"):
        raise Http404
    try:
        return Customer.objects.select_related("merged_into").get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def customers_search(
    *,
    text: str = "",
    lifecycle_stage: str = "",
    language: str = "",
    segment: Segment | None = None,
    include_merged: bool = False,
    allow_contact_search: bool = True,
) -> QuerySet[Customer]:
    qs = Customer.objects.all() if include_merged else Customer.objects.live()
    text = text.strip()
    if text:
        qs = qs.filter(_text_condition(text, allow_contact_search))
    if lifecycle_stage:
        qs = qs.filter(lifecycle_stage=lifecycle_stage)
    if language:
        qs = qs.filter(language=language)
    if segment is not None:
        qs = qs.filter(segment_filter(segment.rules))
    return qs.order_by("-last_interaction_at", "-id")


def _text_condition(text: str, allow_contact_search: bool) -> Q:
    match = _REFERENCE.match(text)
    reference = Q(pk=int(match.group(1))) if match else Q(pk__in=[])
    if not allow_contact_search:
        # Without the right to personal data, names and contact details are not searchable.
        return reference
    if match and not _PHONEISH.match(text):
        return reference
    # Digits alone may be a reference or a phone number typed without spaces (0612345678).
    return reference | _contact_condition(text)


def _contact_condition(text: str) -> Q:
    condition = Q()
    for word in text.split()[:4]:
        condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    values = set()
    if "@" in text:
        with suppress(IdentityError):
            values.add(normalise_email(text))
    if _PHONEISH.match(text):
        with suppress(IdentityError):
            values.add(normalise_phone(text))
    values.add(text.replace(" ", "").upper())  # loyalty card numbers
    values.add(text)  # external ids as given
    owners = ContactPoint.objects.filter(customer=OuterRef("pk"), value__in=values)
    return condition | Q(Exists(owners))


@dataclass
class TimelineEvent:
    at: datetime
    kind: str  # interaction, merge_in, merge_out, attribute, or an area's own (response)
    object: object
    # Events of areas above the nucleus bring the partial that shows them and what the API
    # says of them; the nucleus renders them without knowing what they are.
    template: str = ""
    data: dict = field(default_factory=dict)


# Areas above add their events (survey responses…) from their AppConfig.ready():
# source(customer, limit, before) -> up to `limit` events, newest first.
TimelineSource = Callable[[Customer, int, datetime | None], list[TimelineEvent]]
TIMELINE_SOURCES: list[TimelineSource] = []


def timeline_source_register(source: TimelineSource) -> None:
    if source not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(source)


def customer_timeline(
    customer: Customer, *, limit: int = 50, before: datetime | None = None
) -> list[TimelineEvent]:
    """Interactions, merges and declarations, newest first; `before` pages back in time.

    Returns up to limit + 1 events: the extra one only says that older events exist.
    """
    from cxcore.interactions.queries import interactions_for_customer

    events = [
        TimelineEvent(i.occurred_at, "interaction", i)
        for i in interactions_for_customer(customer.pk, limit=limit + 1, before=before)
    ]
    merges = CustomerMerge.objects.filter(Q(survivor=customer) | Q(merged=customer))
    attributes = customer.attributes.all()
    if before is not None:
        merges = merges.filter(merged_at__lt=before)
        attributes = attributes.filter(declared_at__lt=before)
    for merge in merges.select_related("survivor", "merged", "merged_by"):
        kind = "merge_in" if merge.survivor_id == customer.pk else "merge_out"
        events.append(TimelineEvent(merge.merged_at, kind, merge))
    for attribute in attributes:
        events.append(TimelineEvent(attribute.declared_at, "attribute", attribute))
    for source in TIMELINE_SOURCES:
        events.extend(source(customer, limit + 1, before))
    events.sort(key=lambda event: event.at, reverse=True)
    return events[: limit + 1]


def timeline_page(customer: Customer, *, before: datetime | None = None, size: int = 50) -> dict:
    events = customer_timeline(customer, limit=size, before=before)
    return {
        "timeline": events[:size],
        "timeline_older": events[size - 1].at if len(events) > size else None,
    }


def customer_page(customer: Customer, *, before: datetime | None = None) -> dict:
    return {
        "contact_points": list(customer.contact_points.order_by("kind", "system", "value")),
        "attributes": list(customer.attributes.order_by("key")),
        "conflicts": list(
            IdentityConflict.objects.filter(
                Q(customer=customer) | Q(other_customer=customer),
                status=IdentityConflict.Status.OPEN,
            ).select_related("customer", "other_customer")
        ),
        **timeline_page(customer, before=before),
        "interaction_count": customer.interactions.count(),
    }


def customers_reached_at(kind: str, value: str) -> list[int]:
    """Ids of the customers who have this (normalised) contact point; a family may share one."""
    return list(
        ContactPoint.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True)
    )


def identity_conflicts_open() -> QuerySet[IdentityConflict]:
    return (
        IdentityConflict.objects.filter(status=IdentityConflict.Status.OPEN)
        .select_related("customer", "other_customer")
        .order_by("-created_at")
    )


def audit_entries(*, customer_id: int | None = None, action: str = "") -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.select_related("actor")
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if action:
        qs = qs.filter(action=action)
    return qs


def segment_members(segment: Segment) -> QuerySet[Customer]:
    return Customer.objects.live().filter(segment_filter(segment.rules)).order_by("-id")


def lifecycle_counts() -> list[dict]:
    """Live customers per lifecycle stage, in the stages' natural order, with their labels."""
    from django.db.models import Count

    from cxcore.customers.models import LifecycleStage

    totals = dict(
        Customer.objects.live().values_list("lifecycle_stage").annotate(total=Count("id"))
    )
    return [
        {"stage": stage, "label": stage.label, "total": totals[stage]}
        for stage in LifecycleStage
        if totals.get(stage)
    ]
