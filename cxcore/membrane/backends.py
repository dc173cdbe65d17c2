"""Delivery backends behind one small interface: `send(outbound) -> provider reference`.

Every outbound carries an idempotency key (one per delivery): a backend that can, uses it so
that a retry after a worker died mid-send does not deliver twice (file backends skip a key
they already wrote; the webhook sends it for the receiver to deduplicate; email uses it as
the Message-ID).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import override

from cxcore.customers.models import ContactKind, ContactPoint, Customer
from cxcore.membrane.links import portal_urls
from cxcore.membrane.models import Delivery, MessageVariant, Preference


class DeliveryFailed(Exception):
    """The backend could not deliver; `retry` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Outbound:
    delivery_id: int
    idempotency_key: str
    channel: str
    customer_reference: str
    to: str
    language: str
    subject: str
    body: str
    links: dict = field(default_factory=dict)
    large_print: bool = False
    recipient_name: str = ""
    customer_id: int | None = None  # for staff pages (call list); never leaves the building


ADDRESS_KIND = {
    "email": ContactKind.EMAIL,
    "sms": ContactKind.PHONE,
    "phone": ContactKind.PHONE,
    "postal": ContactKind.POSTAL,
    "webhook": ContactKind.EXTERNAL_ID,
}


# Apps above the membrane fill placeholders of their own in a message's text, such as the
# feedback app's "{survey_link}": each filler takes a batch of decision ids and returns
# {decision_id: {"survey_link": "https://..."}}. Registered from the app's ready().
PlaceholderFiller = Callable[[list[int]], dict[int, dict[str, str]]]
PLACEHOLDER_FILLERS: dict[PlaceholderFiller, tuple[str, ...]] = {}


def placeholder_filler_register(filler: PlaceholderFiller, names: tuple[str, ...]) -> None:
    PLACEHOLDER_FILLERS[filler] = names


def _placeholders(decision_ids: list[int]) -> dict[int, dict[str, str]]:
    # A placeholder its filler has no value for (a survey message sent by a campaign, without
    # an invitation) becomes empty rather than reaching the customer as "{survey_link}".
    blanks = {name: "" for names in PLACEHOLDER_FILLERS.values() for name in names}
    found: dict[int, dict[str, str]] = {decision_id: dict(blanks) for decision_id in decision_ids}
    for filler in PLACEHOLDER_FILLERS:
        for decision_id, values in filler(decision_ids).items():
            found.setdefault(decision_id, {}).update(values)
    return found


def _fill(text: str, values: dict[str, str]) -> str:
    # Plain replacement, not str.format: a brace in a message's own text stays as written.
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def outbound_for(delivery: Delivery) -> Outbound:
    """The message as it leaves: content in the decided language, address, portal links."""
    found = outbounds_for([delivery])[delivery.pk]
    if isinstance(found, DeliveryFailed):
        raise found
    return found


def outbounds_for(deliveries: list[Delivery]) -> dict[int, Outbound | DeliveryFailed]:
    """Outbounds for a batch of deliveries, loaded in four queries whatever the batch size."""
    customer_ids = {d.customer_id for d in deliveries}
    customers = Customer.objects.in_bulk(customer_ids)
    variants: dict[tuple, MessageVariant] = {}
    for variant in MessageVariant.objects.filter(
        message_id__in={d.message_id for d in deliveries}
    ).order_by("-id"):
        variants[(variant.message_id, variant.channel, variant.language)] = variant
        variants.setdefault((variant.message_id, variant.channel, None), variant)
    addresses: dict[tuple, str] = {}
    # Oldest first so that the best point wins: verified, then the newest.
    for point in ContactPoint.objects.filter(
        customer_id__in=customer_ids, kind__in=set(ADDRESS_KIND.values())
    ).order_by("verified", "created_at", "id"):
        addresses[(point.customer_id, point.kind)] = point.value
    large_print = {
        customer_id
        for customer_id, needs in Preference.objects.filter(
            customer_id__in=customer_ids
        ).values_list("customer_id", "accessibility")
        if "large_print" in (needs or [])
    }
    placeholders = _placeholders([d.decision_id for d in deliveries])
    out: dict[int, Outbound | DeliveryFailed] = {}
    for delivery in deliveries:
        decision = delivery.decision
        values = placeholders.get(decision.pk, {})
        customer = customers.get(delivery.customer_id)
        variant = variants.get(
            (delivery.message_id, delivery.channel, decision.language)
        ) or variants.get((delivery.message_id, delivery.channel, None))
        address = addresses.get((delivery.customer_id, ADDRESS_KIND[delivery.channel]))
        if customer is None:
            out[delivery.pk] = DeliveryFailed("the customer no longer exists", retry=False)
        elif variant is None:
            out[delivery.pk] = DeliveryFailed(
                "the message has no text for this channel", retry=False
            )
        elif address is None:
            out[delivery.pk] = DeliveryFailed("no address for this channel", retry=False)
        else:
            out[delivery.pk] = Outbound(
                delivery_id=delivery.pk,
                idempotency_key=f"cxcore-delivery-{delivery.pk}",
                channel=delivery.channel,
                customer_reference=customer.reference,
                to=address,
                language=variant.language,
                subject=_fill(variant.subject, values),
                body=_fill(variant.body, values),
                links=portal_urls(decision.pk, decision.purpose),
                large_print=customer.pk in large_print,
                recipient_name=customer.display_name,
                customer_id=customer.pk,
            )
    return out


def _footer(outbound: Outbound) -> str:
    with override(outbound.language):
        return "\n\n".join(
            [
                _("Why did I get this? %(url)s") % {"url": outbound.links["why"]},
                _("Your preferences: %(url)s") % {"url": outbound.links["preferences"]},
                _("Unsubscribe: %(url)s") % {"url": outbound.links["unsubscribe"]},
            ]
        )


class EmailBackend:
    """Through Django's email backend, with a one-click List-Unsubscribe (RFC 8058)."""

    def send(self, outbound: Outbound) -> str:
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
        message_id = f"<{outbound.idempotency_key}@{domain}>"
        text = f"{outbound.body}\n\n-- \n{_footer(outbound)}"
        html = (
            "<html><body>"
            + "".join(f"<p>{escape(p)}</p>" for p in outbound.body.split("\n\n"))
            + "<hr>"
            + "".join(f"<p>{escape(p)}</p>" for p in _footer(outbound).split("\n\n"))
            + "</body></html>"
        )
        email = EmailMultiAlternatives(
            subject=outbound.subject,
            body=text,
            to=[outbound.to],
            headers={
                "Message-ID": message_id,
                "List-Unsubscribe": f"<{outbound.links['unsubscribe']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        email.attach_alternative(html, "text/html")
        try:
            email.send()
        except OSError as exc:  # SMTP down or refused: try again later
            raise DeliveryFailed(str(exc)) from exc
        return message_id


class SmsProvider(Protocol):
    """What an SMS gateway class (setting SMS_PROVIDER) must offer; it raises DeliveryFailed
    when the gateway refuses, and returns the gateway's reference for the message."""

    def send(self, *, to: str, text: str, idempotency_key: str) -> str: ...


class FileSmsProvider:
    """Writes each SMS as a JSON file under SMS_FILE_DIR, for local use and tests."""

    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        folder = Path(settings.SMS_FILE_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{idempotency_key}.json"
        if not path.exists():  # written already by a run that died before recording it
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"to": to, "text": text}, ensure_ascii=False))
            tmp.replace(path)
        return path.name


class SmsBackend:
    def send(self, outbound: Outbound) -> str:
        provider: SmsProvider = import_string(settings.SMS_PROVIDER)()
        with override(outbound.language):
            text = f"{outbound.body}\n" + _("Stop or change: %(url)s") % {
                "url": outbound.links["preferences"]
            }
        return provider.send(to=outbound.to, text=text, idempotency_key=outbound.idempotency_key)


class PrintBackend:
    """Postal letters and phone calls are done by people: the delivery joins the printable
    letter batch or the agents' call list (membrane.queries), marked sent when handed over."""

    def __init__(self, kind: str):
        self.kind = kind

    def send(self, outbound: Outbound) -> str:
        return f"{self.kind}:{outbound.delivery_id}"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "timestamp.body": the receiver recomputes it and rejects old stamps."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookBackend:
    def send(self, outbound: Outbound) -> str:
        if not settings.WEBHOOK_URL or not settings.WEBHOOK_SECRET:
            raise DeliveryFailed("WEBHOOK_URL and WEBHOOK_SECRET are not set", retry=False)
        payload = asdict(outbound)
        # The receiving system knows its customer by reference: no name, no internal id.
        payload.pop("recipient_name")
        payload.pop("customer_id")
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            settings.WEBHOOK_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Cxcore-Timestamp": timestamp,
                "X-Cxcore-Signature": webhook_signature(settings.WEBHOOK_SECRET, timestamp, body),
                "Idempotency-Key": outbound.idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return f"webhook:{response.status}"
        except urllib.error.HTTPError as exc:
            # 4xx: the receiver refuses this message (retrying will not help), except 429.
            raise DeliveryFailed(
                f"webhook answered {exc.code}", retry=exc.code >= 500 or exc.code == 429
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryFailed(f"webhook unreachable: {exc}") from exc


def backend_for(channel: str):
    return {
        "email": EmailBackend,
        "sms": SmsBackend,
        "postal": lambda: PrintBackend("letter"),
        "phone": lambda: PrintBackend("call"),
        "webhook": WebhookBackend,
    }[channel]()
