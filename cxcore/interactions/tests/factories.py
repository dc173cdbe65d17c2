"""Small factories for the interaction log's tests: touchpoints and interactions."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from cxcore.customers.models import Customer
from cxcore.interactions.models import Interaction, Touchpoint

_numbers = count(1)


def make_touchpoint(code: str = "store-visit", *, kind: str = "store", **fields) -> Touchpoint:
    fields.setdefault("name_en", code.replace("-", " ").capitalize())
    fields.setdefault("name_fr", fields["name_en"])
    return Touchpoint.objects.create(code=code, kind=kind, **fields)


def make_interaction(
    customer: Customer,
    touchpoint: Touchpoint,
    occurred_at: datetime,
    *,
    channel: str = "store",
    **fields,
) -> Interaction:
    fields.setdefault("source", "test")
    fields.setdefault("external_id", f"test-{next(_numbers)}")
    return Interaction.objects.create(
        customer=customer,
        touchpoint=touchpoint,
        channel=channel,
        occurred_at=occurred_at,
        **fields,
    )
