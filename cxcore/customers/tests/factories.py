"""Small factories for the nucleus's tests: customers with identities, attributes, segments."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from cxcore.customers.models import ContactPoint, Customer, DeclaredAttribute
from cxcore.lib.identity import normalise


def make_customer(
    first_name: str = "",
    last_name: str = "",
    *,
    email: str | None = None,
    phone: str | None = None,
    **fields,
) -> Customer:
    """A customer, with an email and a phone number stored the way the services store them."""
    customer = Customer.objects.create(first_name=first_name, last_name=last_name, **fields)
    if email:
        add_contact(customer, "email", email)
    if phone:
        add_contact(customer, "phone", phone)
    return customer


def add_contact(customer: Customer, kind: str, value: str, *, system: str = "") -> ContactPoint:
    return ContactPoint.objects.create(
        customer=customer, kind=kind, system=system, value=normalise(kind, value), source="test"
    )


def declare(
    customer: Customer,
    key: str,
    value: str,
    *,
    declared_at: datetime | None = None,
    channel: str = "web",
) -> DeclaredAttribute:
    return DeclaredAttribute.objects.create(
        customer=customer,
        key=key,
        value=value,
        declared_at=declared_at or timezone.now(),
        channel=channel,
    )
