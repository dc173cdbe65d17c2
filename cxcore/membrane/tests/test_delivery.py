"""Sending: email headers and links, exactly once, re-checks at sending time, retries, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

import time_machine
from django.conf import settings
from django.core import mail
from django.urls import resolve

from cxcore.customers.tests.factories import add_contact, make_customer
from cxcore.membrane import services
from cxcore.membrane.backends import DeliveryFailed, webhook_signature
from cxcore.membrane.links import portal_token_read
from cxcore.membrane.models import Delivery
from cxcore.membrane.tests.factories import SYSTEM_TEST, grant, make_message, withdraw
from cxcore.test import BaseTestCase

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # noon in Paris


@time_machine.travel(NOW, tick=False)
class DeliveryTestCase(BaseTestCase):
    def setUp(self):
        self.sms_dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.enterContext(self.settings(SMS_FILE_DIR=self.sms_dir))
        self.alice = make_customer(
            "Alice", "Martin", email="alice@example.org", phone="+33611111111", language="en"
        )

    def record(self, message, customer=None) -> Delivery:
        decision, row = services.decision_make(
            customer=customer or self.alice, message=message, record=True
        )
        self.assertNotEqual(decision.outcome, "block", decision.reasons)
        return Delivery.objects.get(decision=row)

    def fresh(self, delivery: Delivery) -> Delivery:
        return Delivery.objects.get(pk=delivery.pk)


class EmailTest(DeliveryTestCase):
    def setUp(self):
        super().setUp()
        grant(self.alice, "marketing", "email")
        self.message = services.message_create(
            actor=SYSTEM_TEST,
            name="Summer <sale>",
            purpose="marketing",
            variants=[
                {
                    "channel": "email",
                    "language": "en",
                    "subject": "Summer sale",
                    "body": "Hello <b>Alice</b> & co\n\nShoes at -20%",
                }
            ],
        )

    def test_an_email_carries_one_click_unsubscribe_and_the_portal_links(self):
        delivery = self.record(self.message)
        self.assertEqual(services.deliveries_send_due(), 1)
        [email] = mail.outbox
        self.assertEqual(email.to, ["alice@example.org"])
        self.assertEqual(email.subject, "Summer sale")
        sent = email.message()
        self.assertEqual(sent["Message-ID"], f"<cxcore-delivery-{delivery.pk}@localhost>")
        self.assertEqual(sent["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        unsubscribe = sent["List-Unsubscribe"]
        self.assertTrue(unsubscribe.startswith("<http") and unsubscribe.endswith(">"))

        # Every link is signed for its own use and names this delivery's decision.
        links = {}
        for scope, path in (
            ("unsubscribe", unsubscribe[1:-1]),
            ("why", self.link_after(email.body, "Why did I get this? ")),
            ("preferences", self.link_after(email.body, "Your preferences: ")),
        ):
            self.assertTrue(path.startswith(settings.SITE_URL.rstrip("/")), path)
            token = resolve(path[len(settings.SITE_URL.rstrip("/")) :]).kwargs["token"]
            target = portal_token_read(token, scope)
            self.assertEqual(
                (target.decision_id, target.purpose), (delivery.decision_id, "marketing")
            )
            links[scope] = path
        self.assertEqual(len(set(links.values())), 3)

        self.assertIn("Hello <b>Alice</b> & co", email.body)  # plain text stays as written
        [(html, mimetype)] = email.alternatives
        self.assertEqual(mimetype, "text/html")
        self.assertIn("<p>Hello &lt;b&gt;Alice&lt;/b&gt; &amp; co</p>", html)
        self.assertNotIn("<b>Alice</b>", html)
        self.assertIn(links["why"].replace("&", "&amp;"), html)

        delivery = self.fresh(delivery)
        self.assertEqual(delivery.status, "sent")
        self.assertEqual((delivery.sent_at, delivery.attempts), (NOW, 1))
        self.assertEqual(delivery.provider_ref, sent["Message-ID"])

    def link_after(self, body: str, label: str) -> str:
        [line] = [line for line in body.splitlines() if line.startswith(label)]
        return line[len(label) :].strip()

    def test_a_delivery_is_never_sent_twice(self):
        self.record(self.message)
        self.assertEqual(services.deliveries_send_due(), 1)
        self.assertEqual(services.deliveries_send_due(), 0)
        with time_machine.travel(NOW + timedelta(hours=1), tick=False):
            self.assertEqual(services.deliveries_send_due(), 0)
            decision, _row = services.decision_make(
                customer=self.alice, message=self.message, record=True
            )
        self.assertEqual(decision.blocking_reason, "duplicate")
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(Delivery.objects.count(), 1)

    def test_consent_withdrawn_before_sending_cancels_the_delivery(self):
        delivery = self.record(self.message)
        with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
            withdraw(self.alice, "marketing", "email")
            self.assertEqual(services.deliveries_send_due(), 0)
        self.assertEqual(mail.outbox, [])
        delivery = self.fresh(delivery)
        self.assertEqual(delivery.status, "cancelled")
        self.assertEqual(
            [r["code"] for r in delivery.reasons], ["consent_withdrawn", "no_usable_channel"]
        )
        self.assertEqual(
            delivery.reasons[0]["params"], {"purpose": "marketing", "channel": "email"}
        )

    def test_do_not_contact_set_before_sending_cancels_the_delivery(self):
        delivery = self.record(self.message)
        services.do_not_contact_set(
            actor=SYSTEM_TEST, customer=self.alice, channel="email", reason="complaint"
        )
        services.deliveries_send_due()
        self.assertEqual(mail.outbox, [])
        self.assertEqual(self.fresh(delivery).status, "cancelled")

    def test_a_failing_backend_is_retried_with_backoff_then_given_up(self):
        delivery = self.record(self.message)
        refused = mock.patch(
            "django.core.mail.backends.locmem.EmailBackend.send_messages",
            side_effect=ConnectionRefusedError("SMTP server refused"),
        )
        moment = NOW
        with refused:
            for attempt in range(1, settings.DELIVERY_MAX_ATTEMPTS):
                with time_machine.travel(moment, tick=False):
                    self.assertEqual(services.deliveries_send_due(), 1)
                    self.assertEqual(services.deliveries_send_due(), 0)  # not due again yet
                delivery = self.fresh(delivery)
                wait = timedelta(minutes=2 ** (attempt - 1))
                self.assertEqual(
                    (delivery.status, delivery.attempts, delivery.due_at, delivery.claimed_at),
                    ("pending", attempt, moment + wait, None),
                )
                self.assertIn("SMTP server refused", delivery.last_error)
                moment += wait
            with time_machine.travel(moment, tick=False):
                services.deliveries_send_due()
            delivery = self.fresh(delivery)
            self.assertEqual(
                (delivery.status, delivery.attempts),
                ("failed", settings.DELIVERY_MAX_ATTEMPTS),
            )
            with time_machine.travel(moment + timedelta(days=1), tick=False):
                self.assertEqual(services.deliveries_send_due(), 0)
        self.assertEqual(self.fresh(delivery).attempts, settings.DELIVERY_MAX_ATTEMPTS)

    def test_a_refusal_that_retrying_cannot_fix_fails_at_once(self):
        delivery = self.record(self.message)
        with mock.patch(
            "cxcore.membrane.backends.EmailBackend.send",
            side_effect=DeliveryFailed("mailbox does not exist", retry=False),
        ):
            services.deliveries_send_due()
        delivery = self.fresh(delivery)
        self.assertEqual((delivery.status, delivery.attempts), ("failed", 1))
        self.assertEqual(delivery.last_error, "mailbox does not exist")

    def test_a_backend_bug_is_retried_rather_than_losing_the_message(self):
        delivery = self.record(self.message)
        with (
            mock.patch("cxcore.membrane.backends.EmailBackend.send", side_effect=KeyError("x")),
            self.assertLogs("cxcore.membrane", "ERROR"),
        ):
            services.deliveries_send_due()
        delivery = self.fresh(delivery)
        self.assertEqual((delivery.status, delivery.attempts), ("pending", 1))
        self.assertTrue(delivery.last_error.startswith("KeyError"))
        with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
            self.assertEqual(services.deliveries_send_due(), 1)
        self.assertEqual(self.fresh(delivery).status, "sent")
        self.assertEqual(len(mail.outbox), 1)

    def test_a_message_expiring_before_sending_is_cancelled(self):
        message = make_message(channels=("email",), expires_at=NOW + timedelta(hours=1))
        delivery = self.record(message)
        with time_machine.travel(NOW + timedelta(hours=2), tick=False):
            services.deliveries_send_due()
        delivery = self.fresh(delivery)
        self.assertEqual(delivery.status, "cancelled")
        self.assertEqual([r["code"] for r in delivery.reasons], ["message_expired"])


class CapsAtSendingTimeTest(DeliveryTestCase):
    def test_caps_are_checked_again_when_sending(self):
        grant(self.alice, "marketing", "email")
        services.preferences_save(actor=SYSTEM_TEST, customer=self.alice, data={"max_per_week": 1})
        first = self.record(make_message(channels=("email",), name="First"))
        second = self.record(make_message(channels=("email",), name="Second"))
        # Deciding ahead, waiting deliveries do not fill the cap: both were allowed.
        self.assertEqual((first.due_at, second.due_at), (NOW, NOW))

        self.assertEqual(services.deliveries_send_due(), 1)
        self.assertEqual(len(mail.outbox), 1)
        first, second = self.fresh(first), self.fresh(second)
        self.assertEqual(first.status, "sent")
        self.assertEqual((second.status, second.due_at), ("pending", NOW + timedelta(days=7)))
        self.assertEqual(second.reasons[-1]["code"], "frequency_cap")
        self.assertEqual(second.reasons[-1]["params"]["cap"], "customer_week")

        with time_machine.travel(NOW + timedelta(days=6), tick=False):
            self.assertEqual(services.deliveries_send_due(), 0)
        with time_machine.travel(NOW + timedelta(days=7), tick=False):
            self.assertEqual(services.deliveries_send_due(), 1)
        self.assertEqual(self.fresh(second).status, "sent")
        self.assertEqual(len(mail.outbox), 2)

    def test_a_batch_held_entirely_does_not_stop_the_deliveries_after_it(self):
        bob = make_customer("Bob", "Durand", email="bob@example.org")
        grant(self.alice, "marketing", "email")
        grant(bob, "marketing", "email")
        services.preferences_save(actor=SYSTEM_TEST, customer=self.alice, data={"max_per_week": 1})
        first = make_message(channels=("email",), name="First")
        second = make_message(channels=("email",), name="Second")
        self.record(first)
        held = self.record(second)
        for_bob = self.record(first, customer=bob)

        # One delivery per batch: Alice's first goes, her second is held, then Bob's must go.
        self.assertEqual(services.deliveries_send_due(limit=1), 2)
        self.assertEqual(self.fresh(held).status, "pending")
        self.assertEqual(self.fresh(for_bob).status, "sent")
        self.assertEqual(
            sorted(m.to[0] for m in mail.outbox), ["alice@example.org", "bob@example.org"]
        )

    def test_an_earlier_delivery_counts_with_those_claimed_in_the_same_batch(self):
        grant(self.alice, "marketing", "email")
        services.preferences_save(actor=SYSTEM_TEST, customer=self.alice, data={"max_per_week": 2})
        with time_machine.travel(NOW - timedelta(days=2), tick=False):
            earlier = self.record(make_message(channels=("email",), name="Monday"))
            services.deliveries_send_due()
        self.assertEqual(self.fresh(earlier).status, "sent")
        # One more fits this week, not two: the history must count beside the batch's claims.
        first = self.record(make_message(channels=("email",), name="First"))
        second = self.record(make_message(channels=("email",), name="Second"))
        self.assertEqual(services.deliveries_send_due(), 1)
        statuses = sorted([self.fresh(first).status, self.fresh(second).status])
        self.assertEqual(statuses, ["pending", "sent"])
        self.assertEqual(len(mail.outbox), 2)

    def test_caps_count_every_channel_and_purpose_at_sending_time(self):
        grant(self.alice, "marketing", "sms")
        services.preferences_save(actor=SYSTEM_TEST, customer=self.alice, data={"max_per_week": 1})
        service = self.record(make_message("service", channels=("email",), name="Your order"))
        offer = self.record(make_message(channels=("sms",), name="Offer"))
        services.deliveries_send_due()
        self.assertEqual(self.fresh(service).status, "sent")
        self.assertEqual(self.fresh(offer).status, "pending")
        self.assertEqual(list(self.sms_dir.iterdir()), [])


class SmsTest(DeliveryTestCase):
    def setUp(self):
        super().setUp()
        grant(self.alice, "marketing", "sms")
        self.message = make_message(channels=("sms",), languages=("en",), name="Flash sale")

    def test_an_sms_is_written_once_under_its_idempotency_key(self):
        delivery = self.record(self.message)
        services.deliveries_send_due()
        path = self.sms_dir / f"cxcore-delivery-{delivery.pk}.json"
        written = json.loads(path.read_text())
        self.assertEqual(written["to"], "+33611111111")
        self.assertTrue(written["text"].startswith("Flash sale: hello (sms, en)\n"))
        self.assertIn(f"{settings.SITE_URL.rstrip('/')}/p/", written["text"])
        self.assertEqual(self.fresh(delivery).provider_ref, path.name)

    def test_a_stale_sending_delivery_is_retried_without_writing_the_sms_twice(self):
        from cxcore.membrane.backends import backend_for, outbound_for

        delivery = self.record(self.message)
        # A worker claims it, hands it to the provider, and dies before recording the result.
        [claimed] = services.deliveries_claim()
        self.assertEqual((claimed.pk, claimed.status), (delivery.pk, "sending"))
        backend_for("sms").send(outbound_for(claimed))
        [path] = self.sms_dir.iterdir()
        first = path.stat()
        content = path.read_text()

        # Another worker must not take it while the first may still be sending.
        with time_machine.travel(NOW + timedelta(minutes=9), tick=False):
            self.assertEqual(services.deliveries_send_due(), 0)
        self.assertEqual(self.fresh(delivery).status, "sending")

        with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
            self.assertEqual(services.deliveries_send_due(), 1)
        delivery = self.fresh(delivery)
        self.assertEqual((delivery.status, delivery.attempts), ("sent", 1))
        self.assertEqual(list(self.sms_dir.iterdir()), [path])
        self.assertEqual(path.stat().st_ino, first.st_ino)  # not replaced by a second write
        self.assertEqual(path.read_text(), content)

    def test_a_stale_delivery_is_claimed_by_one_worker_only(self):
        delivery = self.record(self.message)
        services.deliveries_claim()
        later = NOW + timedelta(minutes=11)
        self.assertEqual([d.pk for d in services.deliveries_claim(now=later)], [delivery.pk])
        self.assertEqual(services.deliveries_claim(now=later), [])
        self.assertEqual(self.fresh(delivery).claimed_at, later)


class LettersTest(DeliveryTestCase):
    def test_letters_are_handed_to_the_print_batch_even_at_night(self):
        add_contact(self.alice, "postal", "1 rue de la Paix, 75002 Paris")
        grant(self.alice, "marketing", "postal")
        night = datetime(2026, 6, 10, 22, 0, tzinfo=UTC)  # midnight in Paris
        with time_machine.travel(night, tick=False):
            delivery = self.record(make_message(channels=("postal",)))
            self.assertEqual(services.deliveries_send_due(), 1)
        delivery = self.fresh(delivery)
        self.assertEqual(
            (delivery.status, delivery.provider_ref), ("sent", f"letter:{delivery.pk}")
        )


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that checks the signature the way a partner system would."""

    secret = "receiver-secret"
    answer = 200
    received: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        timestamp = self.headers["X-Cxcore-Timestamp"]
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        valid = hmac.compare_digest(expected, self.headers["X-Cxcore-Signature"])
        self.received.append({"headers": dict(self.headers), "body": body, "valid": valid})
        self.send_response(self.answer if valid else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


class WebhookTest(DeliveryTestCase):
    def setUp(self):
        super().setUp()
        self.handler = type("TestReceiver", (Receiver,), {"received": [], "answer": 200})
        server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cxcore"
        self.enterContext(self.settings(WEBHOOK_URL=url, WEBHOOK_SECRET=Receiver.secret))
        add_contact(self.alice, "external_id", "CRM-4242", system="crm")
        grant(self.alice, "marketing", "webhook")
        self.message = make_message(channels=("webhook",), languages=("en",), name="Loyalty")

    def test_the_receiver_verifies_the_signature(self):
        delivery = self.record(self.message)
        self.assertEqual(services.deliveries_send_due(), 1)
        [request] = self.handler.received
        self.assertTrue(request["valid"])
        headers = request["headers"]
        self.assertEqual(headers["Idempotency-Key"], f"cxcore-delivery-{delivery.pk}")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(
            headers["X-Cxcore-Signature"],
            webhook_signature(Receiver.secret, headers["X-Cxcore-Timestamp"], request["body"]),
        )
        payload = json.loads(request["body"])
        self.assertEqual(payload["to"], "CRM-4242")
        self.assertEqual(payload["customer_reference"], self.alice.reference)
        self.assertEqual(payload["body"], "Loyalty: hello (webhook, en)")
        self.assertNotIn("recipient_name", payload)
        self.assertNotIn("Alice", request["body"].decode())
        delivery = self.fresh(delivery)
        self.assertEqual((delivery.status, delivery.provider_ref), ("sent", "webhook:200"))

    def test_a_wrong_secret_is_refused_by_the_receiver_and_not_retried(self):
        delivery = self.record(self.message)
        with self.settings(WEBHOOK_SECRET="not-the-shared-secret"):
            services.deliveries_send_due()
        [request] = self.handler.received
        self.assertFalse(request["valid"])
        delivery = self.fresh(delivery)
        self.assertEqual((delivery.status, delivery.last_error), ("failed", "webhook answered 401"))

    def test_a_4xx_answer_is_not_retried(self):
        self.handler.answer = 422
        delivery = self.record(self.message)
        services.deliveries_send_due()
        with time_machine.travel(NOW + timedelta(hours=1), tick=False):
            self.assertEqual(services.deliveries_send_due(), 0)
        self.assertEqual(len(self.handler.received), 1)
        delivery = self.fresh(delivery)
        self.assertEqual((delivery.status, delivery.attempts), ("failed", 1))
        self.assertEqual(delivery.last_error, "webhook answered 422")

    def test_a_5xx_answer_is_retried_and_the_retry_carries_the_same_key(self):
        self.handler.answer = 503
        delivery = self.record(self.message)
        services.deliveries_send_due()
        delivery = self.fresh(delivery)
        self.assertEqual(
            (delivery.status, delivery.attempts, delivery.due_at),
            ("pending", 1, NOW + timedelta(minutes=1)),
        )
        self.assertEqual(delivery.last_error, "webhook answered 503")

        self.handler.answer = 200
        with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
            self.assertEqual(services.deliveries_send_due(), 1)
        self.assertEqual((self.fresh(delivery).status, self.fresh(delivery).attempts), ("sent", 2))
        keys = {r["headers"]["Idempotency-Key"] for r in self.handler.received}
        self.assertEqual(
            (len(self.handler.received), keys), (2, {f"cxcore-delivery-{delivery.pk}"})
        )

    def test_too_many_requests_is_retried(self):
        self.handler.answer = 429
        delivery = self.record(self.message)
        services.deliveries_send_due()
        self.assertEqual(self.fresh(delivery).status, "pending")

    def test_an_unreachable_receiver_is_retried(self):
        with self.settings(WEBHOOK_URL="http://127.0.0.1:9/nothing-listens-here"):
            delivery = self.record(self.message)
            services.deliveries_send_due()
        delivery = self.fresh(delivery)
        self.assertEqual((delivery.status, delivery.attempts), ("pending", 1))
        self.assertTrue(delivery.last_error.startswith("webhook unreachable"))
