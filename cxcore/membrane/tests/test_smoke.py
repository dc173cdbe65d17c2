from cxcore.customers.tests.factories import make_customer
from cxcore.membrane import services
from cxcore.membrane.models import Delivery
from cxcore.membrane.tests.factories import grant, make_campaign, make_message
from cxcore.test import BaseTestCase


class SmokeTest(BaseTestCase):
    def test_campaign_end_to_end(self):
        alice = make_customer("Alice", "A", email="alice@example.org", language="en")
        make_customer("Bob", "B", email="bob@example.org")
        grant(alice, "marketing", "email")
        message = make_message()
        campaign = make_campaign(message)
        dry = services.campaign_dry_run(campaign=campaign)
        print(dry)
        results = services.campaign_run(campaign_id=campaign.pk)
        print(results)
        services.deliveries_send_due()
        print(list(Delivery.objects.values("status", "channel", "due_at", "last_error")))
