"""The demo's membrane: consents with their proof, preferences, messages and two campaigns."""

from django.utils import timezone

from cxcore.customers.models import Customer
from cxcore.customers.queries import segment_members
from cxcore.demo import demo_seed
from cxcore.membrane import services
from cxcore.membrane.models import (
    Campaign,
    ConsentEvent,
    ConsentState,
    ConsentWording,
    Decision,
    Delivery,
    DoNotContact,
    Message,
    Preference,
)
from cxcore.test import BaseTestCase

SEED = 11


def membrane_counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            ConsentWording,
            ConsentEvent,
            ConsentState,
            DoNotContact,
            Preference,
            Message,
            Campaign,
            Decision,
            Delivery,
        )
    }


class DemoMembraneTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.summary = demo_seed(seed=SEED, customers=200, interactions=1000)
        cls.live = Customer.objects.live().count()

    def test_it_records_marketing_consents_for_about_half_the_customers(self):
        def share(channel):
            granted = ConsentState.objects.filter(
                purpose="marketing", channel=channel, granted=True
            )
            return granted.count() / self.live

        self.assertGreater(share("email"), 0.4)
        self.assertLess(share("email"), 0.7)
        self.assertGreater(share("sms"), 0.08)
        self.assertLess(share("sms"), 0.35)
        self.assertTrue(ConsentState.objects.filter(purpose="feedback").exists())
        self.assertEqual(self.summary["consent_events"], ConsentEvent.objects.count())

    def test_it_keeps_each_consent_state_on_the_latest_event(self):
        latest = {}
        for event in ConsentEvent.objects.order_by("occurred_at", "id"):
            latest[(event.customer_id, event.purpose, event.channel)] = event
        states = {(s.customer_id, s.purpose, s.channel): s for s in ConsentState.objects.all()}

        self.assertEqual(set(states), set(latest))
        for key, state in states.items():
            self.assertEqual(state.event_id, latest[key].pk)
            self.assertEqual(state.granted, latest[key].granted)
            self.assertEqual(state.changed_at, latest[key].occurred_at)

    def test_it_proves_each_consent_with_a_source_and_the_wording_in_the_customers_language(self):
        self.assertEqual(
            set(ConsentWording.objects.values_list("language", flat=True)), {"fr", "en"}
        )
        withdrawals = ConsentEvent.objects.filter(granted=False)
        self.assertTrue(withdrawals.exists())
        self.assertLessEqual(
            set(withdrawals.values_list("source", flat=True)),
            {"preference_centre", "paper", "staff"},
        )
        languages = dict(Customer.objects.values_list("id", "language"))
        for customer_id, wording_language in ConsentEvent.objects.values_list(
            "customer_id", "wording__language"
        ):
            self.assertEqual(wording_language, languages[customer_id])
        self.assertFalse(
            ConsentEvent.objects.filter(source="web_form", ip_address__isnull=True).exists()
        )
        self.assertFalse(ConsentEvent.objects.filter(occurred_at__gt=timezone.now()).exists())

    def test_it_gives_some_customers_valid_preferences_and_one_customer_no_digital(self):
        preferences = list(Preference.objects.all())

        self.assertGreater(len(preferences), 0.05 * self.live)
        self.assertLess(len(preferences), 0.3 * self.live)
        for preference in preferences:
            data = {name: getattr(preference, name) for name in services.PREFERENCE_FIELDS}
            # What the preference centre would accept.
            self.assertEqual(services._preference_problems(data), {}, data)
        no_digital = [p for p in preferences if "no_digital" in p.accessibility]
        self.assertEqual(len(no_digital), 1)
        self.assertEqual(no_digital[0].accessibility, ["no_digital", "large_print"])
        self.assertTrue(any(p.quiet_start for p in preferences))
        self.assertTrue(any(p.topics for p in preferences))
        self.assertTrue(any(p.channels for p in preferences))

    def test_it_marks_a_few_customers_do_not_contact(self):
        entries = DoNotContact.objects.filter(lifted_at__isnull=True)

        self.assertGreaterEqual(entries.count(), 1)
        self.assertLess(entries.count(), 0.05 * self.live)
        self.assertEqual(self.summary["do_not_contact"], entries.count())

    def test_it_writes_a_newsletter_a_service_notice_and_a_survey_invitation(self):
        self.assertEqual(
            dict(Message.objects.values_list("name", "purpose")),
            {
                "Spring newsletter": "marketing",
                "Your parcel is delayed": "service",
                "How did we do?": "feedback",
            },
        )
        self.assertTrue(Message.objects.get(name="Spring newsletter").topics)
        for message in Message.objects.prefetch_related("variants"):
            variants = {(v.channel, v.language) for v in message.variants.all()}
            channels = {channel for channel, _language in variants}
            self.assertGreaterEqual(len(channels), 2, message.name)
            self.assertEqual(variants, {(c, lang) for c in channels for lang in ("fr", "en")})

    def test_it_runs_one_campaign_with_a_decision_for_each_customer_of_its_segment(self):
        campaign = Campaign.objects.get(name="Spring newsletter, English speakers")
        audience = segment_members(campaign.segment).count()
        decisions = Decision.objects.filter(campaign=campaign)

        self.assertGreater(audience, 10)
        self.assertEqual(campaign.status, Campaign.Status.SENDING)
        self.assertEqual(decisions.count(), audience)
        self.assertEqual(self.summary["decisions"], audience)
        self.assertTrue(decisions.filter(outcome="block").exists())
        self.assertTrue(decisions.exclude(outcome="block").exists())
        self.assertEqual(
            Delivery.objects.filter(decision__campaign=campaign).count(),
            decisions.exclude(outcome="block").count(),
        )

    def test_it_leaves_a_draft_campaign_with_its_dry_run(self):
        draft = Campaign.objects.get(name="How did we do? Dormant loyalty members")

        self.assertEqual(draft.status, Campaign.Status.DRAFT)
        self.assertIsNotNone(draft.dry_run_at)
        self.assertEqual(draft.dry_run["total"], segment_members(draft.segment).count())
        self.assertFalse(Decision.objects.filter(campaign=draft).exists())

    def test_it_writes_nothing_twice_when_run_again(self):
        before = membrane_counts()

        summary = demo_seed(seed=SEED, customers=200, interactions=1000)

        self.assertEqual(membrane_counts(), before)
        for name in ("consent_events", "preferences", "do_not_contact", "messages", "campaigns"):
            self.assertEqual(summary[name], 0, name)
