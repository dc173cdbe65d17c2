"""Small factories for the membrane's tests: consents, messages, campaigns."""

from __future__ import annotations

from datetime import datetime

from cxcore.customers.models import Customer, Segment
from cxcore.lib.actor import Actor
from cxcore.membrane import services
from cxcore.membrane.models import Campaign, Message

WORDING = "I agree to receive news and offers from Example by the channels I tick."
SYSTEM_TEST = Actor(via="test")


def grant(customer: Customer, purpose: str = "marketing", *channels: str, when=None, granted=True):
    wording = services.consent_wording_for(text=WORDING, language="en", version="v1")
    for channel in channels or ("email",):
        services.consent_record(
            actor=SYSTEM_TEST,
            customer=customer,
            purpose=purpose,
            channel=channel,
            granted=granted,
            source="web_form",
            wording=wording,
            occurred_at=when,
        )


def withdraw(customer: Customer, purpose: str = "marketing", *channels: str, when=None):
    grant(customer, purpose, *channels, when=when, granted=False)


def make_message(
    purpose: str = "marketing",
    *,
    channels=("email", "sms", "postal", "phone"),
    languages=("fr", "en"),
    topics=(),
    expires_at: datetime | None = None,
    name: str = "Spring offers",
) -> Message:
    variants = [
        {
            "channel": channel,
            "language": language,
            "subject": f"{name} ({language})" if channel == "email" else "",
            "body": f"{name}: hello ({channel}, {language})",
        }
        for channel in channels
        for language in languages
    ]
    return services.message_create(
        actor=SYSTEM_TEST,
        name=name,
        purpose=purpose,
        variants=variants,
        topics=list(topics),
        expires_at=expires_at,
    )


def make_campaign(message: Message, *, segment: Segment | None = None, scheduled_at=None):
    from django.utils import timezone

    segment = segment or Segment.objects.get_or_create(name="Everyone", defaults={"rules": []})[0]
    return (
        services.campaign_create(
            actor=SYSTEM_TEST,
            name=f"Campaign {message.name}",
            message=message,
            segment=segment,
            scheduled_at=scheduled_at or timezone.now(),
        )
        if isinstance(message, Message)
        else Campaign()
    )
