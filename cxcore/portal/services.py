"""Writes of the portal: what customers change on their own pages, through the owning services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from cxcore.customers import services as customer_services
from cxcore.customers.models import Customer
from cxcore.lib.actor import Actor
from cxcore.membrane import services as membrane_services
from cxcore.membrane.models import ConsentSource
from cxcore.portal import queries

WORDING_VERSION = "portal-v1"
# Declared attributes changed on the portal are recorded as told through it.
ATTRIBUTE_CHANNEL = "portal"


@transaction.atomic
def preference_centre_save(
    *,
    actor: Actor,
    customer: Customer,
    consents: dict[tuple[str, str], bool],
    wording_text: str,
    language: str,
    preferences: dict,
    profile: dict,
    attributes: dict[str, str],
    user_agent: str = "",
) -> None:
    """Save what the customer changed on the preference centre, all of it or nothing.

    `consents` holds only the boxes the customer changed, `attributes` only the values that
    differ. Every problem found is raised together (keyed "language", "channels",
    "attribute:<key>", …) after the whole transaction is undone.
    """
    problems: dict[str, list[str]] = {}

    def attempt(call, prefix: str = ""):
        # Each service is its own savepoint and refuses before writing, so going on after a
        # refusal is safe; the outer block is undone at the end when anything was refused.
        try:
            return call()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                problems.setdefault(prefix or key, []).extend(messages)
            return None

    attempt(
        lambda: membrane_services.preferences_save(actor=actor, customer=customer, data=preferences)
    )
    attempt(lambda: customer_services.customer_update(actor=actor, customer=customer, **profile))
    for key, value in attributes.items():
        attempt(
            lambda key=key, value=value: customer_services.attribute_declare(
                actor=actor, customer=customer, key=key, value=value, channel=ATTRIBUTE_CHANNEL
            ),
            prefix=f"attribute:{key}",
        )
    if consents and not problems:
        wording = membrane_services.consent_wording_for(
            text=wording_text, language=language, version=WORDING_VERSION
        )
        for (purpose, channel), granted in sorted(consents.items()):
            attempt(
                lambda purpose=purpose, channel=channel, granted=granted: (
                    membrane_services.consent_record(
                        actor=actor,
                        customer=customer,
                        purpose=purpose,
                        channel=channel,
                        granted=granted,
                        source=ConsentSource.PREFERENCE_CENTRE,
                        wording=wording,
                        user_agent=user_agent,
                    )
                ),
                prefix="consents",
            )
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def unsubscribe_record(
    *,
    actor: Actor,
    customer: Customer,
    purpose: str,
    channel: str,
    wording_text: str,
    language: str,
    user_agent: str = "",
) -> bool:
    """Withdraw consent to one purpose by one channel; False when it was already withdrawn."""
    if queries.consent_withdrawn(customer, purpose=purpose, channel=channel):
        return False
    wording = membrane_services.consent_wording_for(
        text=wording_text, language=language, version=WORDING_VERSION
    )
    membrane_services.consent_record(
        actor=actor,
        customer=customer,
        purpose=purpose,
        channel=channel,
        granted=False,
        source=ConsentSource.PREFERENCE_CENTRE,
        wording=wording,
        user_agent=user_agent,
    )
    return True
