"""Lifecycle stage and relationship intensity: pure rules over a customer's activity.

The rules are documented in docs/customers.md; they measure the relationship (how recent,
how often, on how many channels, both ways, with feedback), never how much someone spends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FEEDBACK_KINDS = frozenset({"feedback", "survey_response", "review", "complaint", "suggestion"})


@dataclass(frozen=True)
class Activity:
    first_at: datetime | None
    last_at: datetime | None
    count_12m: int = 0
    channels_12m: int = 0
    inbound_12m: bool = False
    outbound_12m: bool = False
    feedback_12m: bool = False


def lifecycle_stage(activity: Activity, now: datetime) -> str:
    if activity.last_at is None or activity.first_at is None:
        return "prospect"
    if now - activity.first_at <= timedelta(days=90):
        return "new"
    idle = now - activity.last_at
    if idle <= timedelta(days=180):
        return "active"
    if idle <= timedelta(days=365):
        return "lapsing"
    return "dormant"


def relationship_intensity(activity: Activity, now: datetime) -> int:
    if activity.last_at is None:
        return 0
    idle_days = (now - activity.last_at).days
    if idle_days <= 30:
        recency = 30
    elif idle_days <= 90:
        recency = 20
    elif idle_days <= 180:
        recency = 10
    elif idle_days <= 365:
        recency = 5
    else:
        recency = 0
    frequency = 25 * min(activity.count_12m, 12) / 12
    diversity = 20 * min(activity.channels_12m, 4) / 4
    two_way = 10 if activity.inbound_12m and activity.outbound_12m else 0
    feedback = 15 if activity.feedback_12m else 0
    return round(recency + frequency + diversity + two_way + feedback)
