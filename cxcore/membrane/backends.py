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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import override

from cxcore.customers.models import ContactKind, ContactPoint, Customer
from cxcore.membrane.links import portal_urls
from cxcore.membrane.models import Delivery, MessageVariant


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


ADDRESS_KIND = {
    "email": ContactKind.EMAIL,
    "sms": ContactKind.PHONE,
    "phone": ContactKind.PHONE,
    "postal": ContactKind.POSTAL,
    "webhook": ContactKind.EXTERNAL_ID,
}


def outbound_for(delivery: Delivery) -> Outbound:
    """The message as it leaves: content in the decided language, address, portal links."""
    decision = delivery.decision
    customer = Customer.objects.get(pk=delivery.customer_id)
    variant = (
        MessageVariant.objects.filter(
            message_id=delivery.message_id, channel=delivery.channel, language=decision.language
        ).first()
        or MessageVariant.objects.filter(
            message_id=delivery.message_id, channel=delivery.channel
        ).first()
    )
    if variant is None:
        raise DeliveryFailed("the message has no text for this channel", retry=False)
    point = (
        ContactPoint.objects.filter(customer=customer, kind=ADDRESS_KIND[delivery.channel])
        .order_by("-verified", "-created_at")
        .first()
    )
    if point is None:
        raise DeliveryFailed("no address for this channel", retry=False)
    from cxcore.membrane.models import Preference

    preference = Preference.objects.filter(customer=customer).first()
    return Outbound(
        delivery_id=delivery.pk,
        idempotency_key=f"cxcore-delivery-{delivery.pk}",
        channel=delivery.channel,
        customer_reference=customer.reference,
        to=point.value,
        language=variant.language,
        subject=variant.subject,
        body=variant.body,
        links=portal_urls(decision.pk, decision.purpose),
        large_print=bool(preference and "large_print" in (preference.accessibility or [])),
        recipient_name=customer.display_name,
    )


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


class SmsProvider:
    """What an SMS gateway must offer. Raise DeliveryFailed when it refuses."""

    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        raise NotImplementedError


class FileSmsProvider(SmsProvider):
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
        provider = import_string(settings.SMS_PROVIDER)()
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
        payload.pop("recipient_name")  # the receiving system knows its customer by reference
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
