"""Reads of the portal: the decision a signed link names, and what the customer's pages show."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from cxcore.customers.models import Customer, DeclaredAttribute
from cxcore.membrane import queries as membrane_queries
from cxcore.membrane.links import LinkInvalid, portal_token_read
from cxcore.membrane.models import Decision, Delivery, MessageChannel, Outcome, Purpose

# A merge chain longer than this is a loop or corruption, never a real history.
MERGE_CHAIN_MAX = 20
NOT_SENT_DAYS = 90
NOT_SENT_MAX = 50


def customer_survivor(customer: Customer) -> Customer:
    """The live customer a (possibly merged) customer now lives on as."""
    for _hop in range(MERGE_CHAIN_MAX):
        if customer.merged_into_id is None:
            return customer
        customer = Customer.objects.get(pk=customer.merged_into_id)
    raise LinkInvalid("invalid")


def link_decision(token: str, scope: str) -> tuple[Decision, Customer]:
    """The decision a link names and the live customer it concerns, or LinkInvalid.

    A link whose purpose differs from its decision's is treated like a forged one: the
    signature is right, so only our own bug could make it, and it must not act on anything.
    """
    target = portal_token_read(token, scope)
    decision = (
        Decision.objects.select_related("message", "reason_set", "customer", "delivery")
        .filter(pk=target.decision_id)
        .first()
    )
    if decision is None or decision.purpose != target.purpose:
        raise LinkInvalid("invalid")
    return decision, customer_survivor(decision.customer)


def _delivery_of(decision: Decision) -> Delivery | None:
    try:
        return decision.delivery
    except Delivery.DoesNotExist:  # blocked decisions have none
        return None


def decision_channel(decision: Decision) -> str:
    """The channel the message went (or goes) by: the delivery's, re-decided at sending time."""
    delivery = _delivery_of(decision)
    return (delivery.channel if delivery else "") or decision.channel


def decision_summary(decision: Decision) -> dict:
    """What the customer reads about one decision (labels only, no translation of reasons)."""
    delivery = _delivery_of(decision)
    cancelled = delivery is not None and delivery.status == Delivery.Status.CANCELLED
    channel = decision_channel(decision)
    if decision.outcome == Outcome.BLOCK or cancelled:
        status = "not_sent"
    elif delivery is not None and delivery.status == Delivery.Status.SENT:
        status = "sent"
    elif (
        delivery is not None
        and delivery.status == Delivery.Status.PENDING
        and delivery.due_at > timezone.now()
    ):
        status = "held"
    else:
        status = "sending"
    # Re-checked at sending time, a delivery held or stopped keeps its own reasons.
    delivery_reasons = list(delivery.reasons or []) if delivery else []
    return {
        "decision": decision,
        "message_name": decision.message.name,
        "decided_at": decision.decided_at,
        "sent_at": delivery.sent_at if delivery else None,
        "send_at": delivery.due_at if delivery else decision.send_at,
        "status": status,
        "purpose_label": Purpose(decision.purpose).label
        if decision.purpose in Purpose.values
        else decision.purpose,
        "channel_label": MessageChannel(channel).label if channel in MessageChannel.values else "",
        "decision_reasons": decision.reason_set.reasons,
        "delivery_reasons": delivery_reasons,
        "reasons": delivery_reasons
        if cancelled and delivery_reasons
        else decision.reason_set.reasons,
    }


def decisions_not_sent(customer: Customer, *, now: datetime, exclude_id: int | None = None):
    """The customer's messages held back over the last days, newest first, reasons loaded."""
    found = membrane_queries.decisions_not_sent(
        customer.pk, since=now - timedelta(days=NOT_SENT_DAYS)
    ).select_related("reason_set")
    if exclude_id is not None:
        found = found.exclude(pk=exclude_id)
    return [decision_summary(decision) for decision in found[:NOT_SENT_MAX]]


def preference_centre(customer: Customer) -> dict:
    """What the preference centre shows: the consent boxes, preferences and declared attributes.

    A box is ticked when consent was granted; for purposes that need no opt-in (service
    messages, feedback surveys) it is also ticked while never refused, since those messages
    do go out until the customer unticks the box.
    """
    membrane = membrane_queries.customer_membrane(customer)
    states = membrane["consent_states"]
    params = membrane_queries.policy_params_all()
    opt_out = {purpose for purpose, p in params.items() if not p.consent_required}
    consents = {}
    for purpose in Purpose.values:
        for channel in MessageChannel.values:
            state = states.get((purpose, channel))
            if state is not None:
                consents[(purpose, channel)] = state.granted
            else:
                consents[(purpose, channel)] = purpose in opt_out
    return {
        "consents": consents,
        "opt_out_purposes": opt_out,
        "preference": membrane["preference"],
        "attributes": list(DeclaredAttribute.objects.filter(customer=customer).order_by("key")),
    }


def consent_withdrawn(customer: Customer, *, purpose: str, channel: str) -> bool:
    """Whether the customer's latest word on this purpose and channel is a refusal."""
    state = membrane_queries.customer_membrane(customer)["consent_states"].get((purpose, channel))
    return state is not None and not state.granted
