"""Several senders at once on PostgreSQL: caps hold and nothing goes out twice."""

from __future__ import annotations

import threading
from collections import Counter
from unittest import mock, skipUnless

from django.core import mail
from django.db import connection
from django.test import TransactionTestCase

from cxcore.customers.tests.factories import make_customer
from cxcore.membrane import services
from cxcore.membrane.models import Delivery
from cxcore.membrane.tests.factories import SYSTEM_TEST, grant, make_campaign, make_message

CUSTOMERS = 8
MESSAGES = 4
WORKERS = 6


@skipUnless(connection.vendor == "postgresql", "row locks and SKIP LOCKED need PostgreSQL")
class ConcurrentSendingTest(TransactionTestCase):
    def setUp(self):
        # The test runs at the real time of day: quiet hours would hold everything.
        services.policy_update(
            actor=SYSTEM_TEST,
            purpose="marketing",
            changes={"quiet_start": None, "quiet_end": None, "week_cap": None, "month_cap": None},
        )
        self.customers = []
        for i in range(CUSTOMERS):
            customer = make_customer(f"Person{i}", "Concurrent", email=f"p{i}@example.org")
            grant(customer, "marketing", "email")
            services.preferences_save(
                actor=SYSTEM_TEST, customer=customer, data={"max_per_week": 1}
            )
            self.customers.append(customer)
        # Decide every campaign before any sending starts: the senders race for the lot.
        with mock.patch.object(services, "_wake_sender"):
            for n in range(MESSAGES):
                campaign = make_campaign(make_message(channels=("email",), name=f"Offer {n}"))
                services.campaign_run(campaign_id=campaign.pk)
        self.assertEqual(Delivery.objects.filter(status="pending").count(), CUSTOMERS * MESSAGES)

    def send_concurrently(self, *, limit: int) -> list[BaseException]:
        start = threading.Barrier(WORKERS)
        errors: list[BaseException] = []

        def worker():
            try:
                start.wait(timeout=30)
                services.deliveries_send_due(limit=limit)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertFalse(any(thread.is_alive() for thread in threads), "a sender hung")
        return errors

    def assert_caps_held(self):
        sent = Delivery.objects.filter(status="sent")
        per_customer = Counter(sent.values_list("customer_id", flat=True))
        self.assertEqual(set(per_customer), {c.pk for c in self.customers})
        self.assertEqual(set(per_customer.values()), {1})
        # Everything else waits for the cap to free up; nothing failed or was lost.
        statuses = Counter(Delivery.objects.values_list("status", flat=True))
        self.assertEqual(statuses, {"sent": CUSTOMERS, "pending": CUSTOMERS * (MESSAGES - 1)})
        for delivery in Delivery.objects.filter(status="pending"):
            self.assertEqual(delivery.reasons[-1]["code"], "frequency_cap")
        # One email per sent delivery, each under its own Message-ID.
        message_ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
        self.assertEqual(len(message_ids), CUSTOMERS)
        self.assertEqual(
            sorted(message_ids),
            sorted(f"<cxcore-delivery-{pk}@localhost>" for pk in sent.values_list("id", flat=True)),
        )

    def test_concurrent_senders_never_pass_a_cap_or_send_twice(self):
        self.assertEqual(self.send_concurrently(limit=3), [])
        self.assert_caps_held()

    def test_concurrent_senders_taking_large_batches_hold_the_caps_too(self):
        self.assertEqual(self.send_concurrently(limit=500), [])
        self.assert_caps_held()
        # Running everything again later the same day changes nothing.
        self.assertEqual(self.send_concurrently(limit=2), [])
        self.assert_caps_held()
