"""Reads of the interaction log for pages, the API and the nucleus's scores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q

from cxcore.customers.scoring import FEEDBACK_KINDS, Activity
from cxcore.interactions.models import Channel, Interaction


def customer_activity(customer_ids: Sequence[int], *, now: datetime) -> dict[int, Activity]:
    """One aggregate query: what each customer did, for lifecycle and intensity."""
    year_ago = now - timedelta(days=365)
    recent = Q(occurred_at__gte=year_ago, occurred_at__lte=now)
    rows = (
        Interaction.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(
            first_at=Min("occurred_at"),
            last_at=Max("occurred_at"),
            count_12m=Count("id", filter=recent),
            channels_12m=Count("channel", filter=recent, distinct=True),
            inbound_12m=Count("id", filter=recent & Q(direction="inbound")),
            outbound_12m=Count("id", filter=recent & Q(direction="outbound")),
            feedback_12m=Count("id", filter=recent & Q(kind__in=FEEDBACK_KINDS)),
        )
    )
    return {
        row["customer_id"]: Activity(
            first_at=row["first_at"],
            last_at=row["last_at"],
            count_12m=row["count_12m"],
            channels_12m=row["channels_12m"],
            inbound_12m=row["inbound_12m"] > 0,
            outbound_12m=row["outbound_12m"] > 0,
            feedback_12m=row["feedback_12m"] > 0,
        )
        for row in rows
    }


def interactions_for_customer(customer_id: int, *, limit: int = 50, before=None):
    qs = (
        Interaction.objects.filter(customer_id=customer_id)
        .select_related("touchpoint", "employee", "team", "partner", "site")
        .order_by("-occurred_at", "-id")
    )
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    return list(qs[:limit])


def interactions_search(
    *,
    touchpoint: str | None = None,
    channel: str | None = None,
    customer_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    qs = Interaction.objects.select_related("touchpoint", "partner", "team", "site").order_by(
        "-occurred_at", "-id"
    )
    if touchpoint:
        qs = qs.filter(touchpoint__code=touchpoint)
    if channel:
        qs = qs.filter(channel=channel)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    return qs


def interaction_counts_by_channel(*, since: datetime) -> list[dict]:
    rows = (
        Interaction.objects.filter(occurred_at__gte=since)
        .values("channel")
        .annotate(total=Count("id"))
        .order_by("-total")
    )
    return [{**row, "label": Channel(row["channel"]).label} for row in rows]


def interaction_counts_by_month(*, since: datetime) -> list[dict]:
    from django.db.models.functions import TruncMonth

    return list(
        Interaction.objects.filter(occurred_at__gte=since)
        .annotate(month=TruncMonth("occurred_at"))
        .values("month")
        .annotate(total=Count("id"))
        .order_by("month")
    )


# What counts as a bad experience until the feedback and loop areas add answers and cases:
# a complaint logged as an interaction, or an interaction whose outcome says so.
BAD_EXPERIENCE = Q(kind="complaint") | Q(outcome__in=["complaint", "detractor", "unresolved"])


def bad_experiences(customer_ids, *, since: datetime) -> tuple[dict[int, datetime], set[int]]:
    """For these customers (a list or an id subquery), in one query: the latest bad experience
    since `since` per customer, and who has a complaint still marked open."""
    recent_bad = BAD_EXPERIENCE & Q(occurred_at__gte=since)
    still_open = Q(kind="complaint", outcome="open")
    rows = (
        Interaction.objects.filter(recent_bad | still_open, customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(
            last_at=Max("occurred_at", filter=recent_bad),
            open_count=Count("id", filter=still_open),
        )
        .values_list("customer_id", "last_at", "open_count")
    )
    latest, open_complaint = {}, set()
    for customer_id, last_at, open_count in rows:
        if last_at is not None:
            latest[customer_id] = last_at
        if open_count:
            open_complaint.add(customer_id)
    return latest, open_complaint
