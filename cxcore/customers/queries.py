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
    # What areas above add to any event (a note's sentiment and topics): dicts with the
    # "template" that shows them, rendered after the event.
    annotations: list[dict] = field(default_factory=list)


# Areas above add their events (survey responses…) from their AppConfig.ready():
# source(customer, limit, before) -> up to `limit` events, newest first. A source registered
# as narrowable also takes filters= and keeps only its rows that `timeline_narrow` keeps.
TimelineSource = Callable[[Customer, int, datetime | None], list[TimelineEvent]]
TIMELINE_SOURCES: list[TimelineSource] = []
NARROWABLE_SOURCES: set[TimelineSource] = set()


def timeline_source_register(source: TimelineSource, *, narrowable: bool = False) -> None:
    if source not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(source)
    if narrowable:
        NARROWABLE_SOURCES.add(source)


@dataclass(frozen=True)
class TimelineFilter:
    """A way an area above narrows the timeline (the text area: a sentiment, a topic).

    `narrow(queryset, value)` keeps the interactions, or an area's own rows, that match;
    `choices()` lists the values offered on the customer page.
    """

    name: str  # the query parameter
    label: str
    choices: Callable[[], list[tuple[str, str]]]
    narrow: Callable[[QuerySet, str], QuerySet]


TIMELINE_FILTERS: dict[str, TimelineFilter] = {}
# Areas above annotate the events of a page once it is cut: annotator(events) -> None.
TIMELINE_ANNOTATORS: list[Callable[[list[TimelineEvent]], None]] = []


def timeline_filter_register(timeline_filter: TimelineFilter) -> None:
    TIMELINE_FILTERS[timeline_filter.name] = timeline_filter


def timeline_annotator_register(annotator: Callable[[list[TimelineEvent]], None]) -> None:
    if annotator not in TIMELINE_ANNOTATORS:
        TIMELINE_ANNOTATORS.append(annotator)


def timeline_filters_read(params) -> dict[str, str]:
    """The timeline filters a request asks for: registered names with a value."""
    return {
        name: str(params.get(name, "")).strip()
        for name in TIMELINE_FILTERS
        if str(params.get(name, "")).strip()
    }


def timeline_filter_fields(filters: dict[str, str]) -> list[dict]:
    """The filters the customer page offers, with their choices and the values chosen."""
    return [
        {
            "name": f.name,
            "label": f.label,
            "choices": f.choices(),
            "value": filters.get(f.name, ""),
        }
        for f in TIMELINE_FILTERS.values()
    ]


def timeline_narrow(queryset: QuerySet, filters: dict[str, str]) -> QuerySet:
    """The rows of `queryset` (interactions, or an area's own) that every filter keeps."""
    for name, value in filters.items():
        queryset = TIMELINE_FILTERS[name].narrow(queryset, value)
    return queryset


def _timeline_interactions(customer: Customer, limit: int, before, filters: dict) -> list:
    from cxcore.interactions.models import Interaction
    from cxcore.interactions.queries import interactions_for_customer

    if not filters:
        return interactions_for_customer(customer.pk, limit=limit, before=before)
    qs = timeline_narrow(Interaction.objects.filter(customer_id=customer.pk), filters)
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    return list(
        qs.select_related("touchpoint", "employee", "team", "partner", "site").order_by(
            "-occurred_at", "-id"
        )[:limit]
    )


def customer_timeline(
    customer: Customer,
    *,
    limit: int = 50,
    before: datetime | None = None,
    filters: dict[str, str] | None = None,
) -> list[TimelineEvent]:
    """Interactions, merges and declarations, newest first; `before` pages back in time.

    `filters` (from `timeline_filters_read`) keep only the events they match: merges and
    declarations match none. Returns up to limit + 1 events: the extra one only says that
    older events exist.
    """
    filters = {name: value for name, value in (filters or {}).items() if name in TIMELINE_FILTERS}
    events = [
        TimelineEvent(i.occurred_at, "interaction", i)
        for i in _timeline_interactions(customer, limit + 1, before, filters)
    ]
    if not filters:
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
        if not filters:
            events.extend(source(customer, limit + 1, before))
        elif source in NARROWABLE_SOURCES:
            events.extend(source(customer, limit + 1, before, filters=filters))
    events.sort(key=lambda event: event.at, reverse=True)
    events = events[: limit + 1]
    for annotate in TIMELINE_ANNOTATORS:
        annotate(events)
    return events


def timeline_page(
    customer: Customer,
    *,
    before: datetime | None = None,
    size: int = 50,
    filters: dict[str, str] | None = None,
) -> dict:
    events = customer_timeline(customer, limit=size, before=before, filters=filters)
    return {
        "timeline": events[:size],
        "timeline_older": events[size - 1].at if len(events) > size else None,
    }


def customer_page(
    customer: Customer, *, before: datetime | None = None, filters: dict[str, str] | None = None
) -> dict:
    return {
        "contact_points": list(customer.contact_points.order_by("kind", "system", "value")),
        "attributes": list(customer.attributes.order_by("key")),
        "conflicts": list(
            IdentityConflict.objects.filter(
                Q(customer=customer) | Q(other_customer=customer),
                status=IdentityConflict.Status.OPEN,
            ).select_related("customer", "other_customer")
        ),
        **timeline_page(customer, before=before, filters=filters),
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
