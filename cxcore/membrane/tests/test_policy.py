"""The policy engine on plain data: every rule of POLICY_ORDER, without a database."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from unittest import TestCase
from zoneinfo import ZoneInfo

from cxcore.membrane import policy
from cxcore.membrane.policy import (
    BLOCK,
    DEFER,
    DELIVER,
    CustomerState,
    MessageSpec,
    Preferences,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=PARIS)  # a Wednesday
EVENING = datetime(2026, 6, 10, 22, 0, tzinfo=PARIS)
MARKETING = policy.DEFAULT_PARAMS["marketing"]
SERVICE = policy.DEFAULT_PARAMS["service"]
FEEDBACK = policy.DEFAULT_PARAMS["feedback"]
ALL_CHANNELS = ("email", "sms", "postal", "phone")


def customer(purpose="marketing", granted=("email",), **fields) -> CustomerState:
    values = {
        "granted": frozenset((purpose, channel) for channel in granted),
        "addresses": frozenset(ALL_CHANNELS + ("webhook",)),
    }
    values.update(fields)
    return CustomerState(**values)


def message(
    purpose="marketing", channels=ALL_CHANNELS, languages=("fr", "en"), **fields
) -> MessageSpec:
    variants = frozenset((c, lang) for c in channels for lang in languages)
    return MessageSpec(id=fields.pop("id", 7), purpose=purpose, variants=variants, **fields)


def codes(decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def reason(decision, code) -> dict:
    [found] = [r for r in decision.reasons if r.code == code]
    return dict(found.params)


class ExpiryTest(TestCase):
    def test_it_blocks_a_message_that_has_expired(self):
        decision = policy.decide(
            customer(), message(expires_at=NOON - timedelta(minutes=1)), MARKETING, NOON
        )
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision), ["message_expired"])
        self.assertEqual(decision.channel, "")

    def test_it_blocks_a_message_expiring_at_this_very_moment(self):
        decision = policy.decide(customer(), message(expires_at=NOON), MARKETING, NOON)
        self.assertEqual(decision.blocking_reason, "message_expired")

    def test_it_delivers_a_message_before_it_expires(self):
        decision = policy.decide(
            customer(), message(expires_at=NOON + timedelta(hours=1)), MARKETING, NOON
        )
        self.assertEqual(decision.outcome, DELIVER)

    def test_it_blocks_a_held_message_that_would_arrive_after_it_expires(self):
        decision = policy.decide(
            customer(), message(expires_at=EVENING + timedelta(hours=1)), MARKETING, EVENING
        )
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision)[-2:], ["quiet_hours", "would_expire"])


class ConsentTest(TestCase):
    def test_it_blocks_marketing_without_consent(self):
        decision = policy.decide(customer(granted=()), message(), MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision), ["consent_missing"] * 4 + ["no_usable_channel"])
        self.assertEqual(decision.blocking_reason, "no_usable_channel")

    def test_it_delivers_marketing_on_a_channel_with_consent(self):
        spec = message(channels=("email", "sms"))
        decision = policy.decide(customer(granted=("sms",)), spec, MARKETING, NOON)
        self.assertEqual(decision.outcome, DELIVER)
        self.assertEqual(decision.channel, "sms")
        self.assertEqual(decision.send_at, NOON)
        self.assertEqual(
            codes(decision),
            ["consent_missing", "consent_given", "channel_chosen", "within_limits"],
        )
        self.assertEqual(
            reason(decision, "consent_missing"), {"purpose": "marketing", "channel": "email"}
        )

    def test_consent_to_another_purpose_does_not_count(self):
        state = customer(purpose="research", granted=ALL_CHANNELS)
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.blocking_reason, "no_usable_channel")

    def test_it_sends_service_messages_without_consent(self):
        decision = policy.decide(customer(granted=()), message("service"), SERVICE, NOON)
        self.assertEqual(decision.outcome, DELIVER)
        self.assertEqual(decision.channel, "email")
        self.assertIn("consent_not_needed", codes(decision))
        self.assertNotIn("consent_given", codes(decision))

    def test_it_honours_an_opt_out_of_service_messages(self):
        state = customer(granted=(), withdrawn=frozenset({("service", "email")}))
        decision = policy.decide(state, message("service"), SERVICE, NOON)
        self.assertEqual(decision.channel, "sms")
        self.assertEqual(codes(decision)[0], "consent_withdrawn")

        every = frozenset(("service", c) for c in ALL_CHANNELS)
        decision = policy.decide(replace(state, withdrawn=every), message("service"), SERVICE, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision), ["consent_withdrawn"] * 4 + ["no_usable_channel"])

    def test_it_honours_an_opt_out_of_feedback_surveys(self):
        state = customer(granted=(), withdrawn=frozenset({("feedback", "email")}))
        spec = message("feedback", channels=("email",))
        decision = policy.decide(state, spec, FEEDBACK, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision), ["consent_withdrawn", "no_usable_channel"])
        self.assertEqual(policy.decide(customer(granted=()), spec, FEEDBACK, NOON).outcome, DELIVER)

    def test_a_withdrawal_sends_marketing_to_the_next_consented_channel(self):
        state = customer(granted=("sms",), withdrawn=frozenset({("marketing", "email")}))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.channel, "sms")
        self.assertEqual(
            reason(decision, "consent_withdrawn"), {"purpose": "marketing", "channel": "email"}
        )


class DoNotContactAndAddressTest(TestCase):
    def test_it_never_uses_a_do_not_contact_channel_even_with_consent(self):
        state = customer(granted=("email",), do_not_contact=frozenset({"email"}))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertIn("do_not_contact", codes(decision))
        self.assertEqual(reason(decision, "do_not_contact"), {"channel": "email"})

    def test_do_not_contact_on_one_channel_leaves_the_others(self):
        state = customer(granted=("email", "sms"), do_not_contact=frozenset({"email"}))
        self.assertEqual(policy.decide(state, message(), MARKETING, NOON).channel, "sms")

    def test_it_skips_a_channel_without_an_address(self):
        state = customer(granted=("email", "postal"), addresses=frozenset({"postal"}))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.channel, "postal")
        self.assertEqual(reason(decision, "no_address"), {"channel": "email"})

    def test_it_blocks_when_no_consented_channel_has_an_address(self):
        state = customer(granted=("email",), addresses=frozenset({"sms", "phone"}))
        decision = policy.decide(state, message(channels=("email",)), MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision), ["no_address", "no_usable_channel"])


class ChannelPreferenceTest(TestCase):
    def test_it_uses_the_company_order_without_a_customer_choice(self):
        state = customer(granted=ALL_CHANNELS)
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.channel, "email")
        self.assertEqual(reason(decision, "channel_chosen")["chosen_by"], "company")

    def test_it_follows_the_customers_channel_order(self):
        state = customer(granted=ALL_CHANNELS, preferences=Preferences(channels=("sms", "email")))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.channel, "sms")
        self.assertEqual(
            reason(decision, "channel_chosen"), {"channel": "sms", "chosen_by": "customer"}
        )

    def test_it_says_which_offered_channels_the_customer_did_not_choose(self):
        state = customer(granted=ALL_CHANNELS, preferences=Preferences(channels=("sms",)))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.channel, "sms")
        not_chosen = [
            dict(r.params)["channel"] for r in decision.reasons if r.code == "channel_not_chosen"
        ]
        self.assertEqual(not_chosen, ["email", "phone", "postal"])
        self.assertTrue(
            all(r.effect == policy.INFO for r in decision.reasons if r.code == "channel_not_chosen")
        )

    def test_it_falls_to_the_next_chosen_channel_when_the_first_is_not_usable(self):
        prefs = Preferences(channels=("sms", "email"))
        state = customer(granted=("email",), preferences=prefs)
        self.assertEqual(policy.decide(state, message(), MARKETING, NOON).channel, "email")

    def test_it_blocks_when_the_message_offers_none_of_the_chosen_channels(self):
        state = customer(granted=ALL_CHANNELS, preferences=Preferences(channels=("postal",)))
        decision = policy.decide(state, message(channels=("email", "sms")), MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(
            codes(decision), ["channel_not_chosen", "channel_not_chosen", "no_channel_offered"]
        )

    def test_it_reaches_a_no_digital_customer_by_post(self):
        prefs = Preferences(no_digital=True)
        state = customer(granted=("email", "sms", "postal"), preferences=prefs)
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.channel, "postal")
        self.assertEqual(codes(decision)[:2], ["no_digital", "no_digital"])

    def test_it_blocks_a_no_digital_customer_offered_only_digital_channels(self):
        state = customer(granted=("email", "sms"), preferences=Preferences(no_digital=True))
        decision = policy.decide(state, message(channels=("email", "sms")), MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision), ["no_digital", "no_digital", "no_usable_channel"])

    def test_it_writes_in_the_customers_language(self):
        decision = policy.decide(customer(language="en"), message(), MARKETING, NOON)
        self.assertEqual(decision.language, "en")
        self.assertNotIn("language_fallback", codes(decision))

    def test_it_falls_back_to_another_language_and_says_so(self):
        decision = policy.decide(
            customer(language="en"), message(languages=("fr",)), MARKETING, NOON
        )
        self.assertEqual(decision.outcome, DELIVER)
        self.assertEqual(decision.language, "fr")
        self.assertEqual(reason(decision, "language_fallback"), {"wanted": "en", "used": "fr"})

    def test_the_language_fallback_looks_at_the_chosen_channel_only(self):
        spec = MessageSpec(
            id=7, purpose="marketing", variants=frozenset({("email", "en"), ("sms", "fr")})
        )
        decision = policy.decide(customer(language="fr", granted=("email",)), spec, MARKETING, NOON)
        self.assertEqual((decision.channel, decision.language), ("email", "en"))


class MarketingPauseTest(TestCase):
    def test_it_defers_marketing_until_the_pause_ends(self):
        prefs = Preferences(marketing_paused_until=date(2026, 6, 20))
        decision = policy.decide(customer(preferences=prefs), message(), MARKETING, NOON)
        self.assertEqual(decision.outcome, DEFER)
        self.assertEqual(decision.send_at, datetime(2026, 6, 20, 9, 0, tzinfo=PARIS))
        self.assertEqual(decision.blocking_reason, "marketing_paused")
        self.assertEqual(reason(decision, "marketing_paused"), {"until": date(2026, 6, 20)})

    def test_the_pause_ends_at_nine_in_the_customers_zone(self):
        prefs = Preferences(marketing_paused_until=date(2026, 6, 20))
        state = customer(preferences=prefs, time_zone="America/New_York")
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.send_at, datetime(2026, 6, 20, 9, 0, tzinfo=NEW_YORK))

    def test_it_blocks_paused_marketing_when_the_message_expires_first(self):
        prefs = Preferences(marketing_paused_until=date(2026, 6, 20))
        spec = message(expires_at=datetime(2026, 6, 15, tzinfo=PARIS))
        decision = policy.decide(customer(preferences=prefs), spec, MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision)[-2:], ["marketing_paused", "would_expire"])

    def test_a_pause_that_has_ended_holds_nothing(self):
        for until in (date(2026, 6, 9), date(2026, 6, 10)):  # the pause lifts at 09:00
            prefs = Preferences(marketing_paused_until=until)
            decision = policy.decide(customer(preferences=prefs), message(), MARKETING, NOON)
            self.assertEqual(decision.outcome, DELIVER, until)

    def test_a_marketing_pause_does_not_hold_service_messages(self):
        prefs = Preferences(marketing_paused_until=date(2026, 6, 20))
        decision = policy.decide(customer(preferences=prefs), message("service"), SERVICE, NOON)
        self.assertEqual(decision.outcome, DELIVER)


class RelevanceTest(TestCase):
    def test_it_delivers_a_message_matching_the_customers_interests(self):
        state = customer(interests=frozenset({"shoes"}))
        spec = message(topics=frozenset({"shoes", "bags"}))
        decision = policy.decide(state, spec, MARKETING, NOON)
        self.assertEqual(decision.outcome, DELIVER)
        self.assertEqual(reason(decision, "relevant"), {"topics": "shoes"})

    def test_topics_chosen_in_the_preferences_count_as_interests(self):
        state = customer(preferences=Preferences(topics=frozenset({"bags"})))
        decision = policy.decide(state, message(topics=frozenset({"bags"})), MARKETING, NOON)
        self.assertEqual(reason(decision, "relevant"), {"topics": "bags"})

    def test_it_blocks_a_message_matching_no_interest(self):
        state = customer(interests=frozenset({"garden"}))
        decision = policy.decide(
            state, message(topics=frozenset({"shoes", "bags"})), MARKETING, NOON
        )
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(decision.blocking_reason, "not_relevant")
        self.assertEqual(reason(decision, "not_relevant"), {"topics": "bags,shoes"})

    def test_it_sends_when_interests_are_unknown_and_says_so(self):
        decision = policy.decide(customer(), message(topics=frozenset({"shoes"})), MARKETING, NOON)
        self.assertEqual(decision.outcome, DELIVER)
        self.assertIn("relevance_unknown", codes(decision))

    def test_the_minimum_share_of_matching_topics_is_the_companys(self):
        state = customer(interests=frozenset({"shoes"}))
        spec = message(topics=frozenset({"shoes", "bags", "hats"}))
        strict = replace(MARKETING, relevance_minimum=0.5)
        self.assertEqual(policy.decide(state, spec, strict, NOON).blocking_reason, "not_relevant")
        lenient = replace(MARKETING, relevance_minimum=0.3)
        self.assertEqual(policy.decide(state, spec, lenient, NOON).outcome, DELIVER)

    def test_a_message_without_topics_skips_relevance(self):
        decision = policy.decide(
            customer(interests=frozenset({"garden"})), message(), MARKETING, NOON
        )
        self.assertEqual(decision.outcome, DELIVER)
        self.assertFalse({"relevant", "relevance_unknown"} & set(codes(decision)))


class BadExperienceTest(TestCase):
    def test_an_open_complaint_blocks_marketing(self):
        decision = policy.decide(customer(open_complaint=True), message(), MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(decision.blocking_reason, "open_complaint")

    def test_an_open_complaint_does_not_block_service_messages(self):
        state = customer(open_complaint=True)
        self.assertEqual(policy.decide(state, message("service"), SERVICE, NOON).outcome, DELIVER)

    def test_a_recent_bad_experience_defers_marketing_until_n_days_after(self):
        bad_at = NOON - timedelta(days=10)
        decision = policy.decide(customer(bad_experience_at=bad_at), message(), MARKETING, NOON)
        self.assertEqual(decision.outcome, DEFER)
        self.assertEqual(decision.send_at, bad_at + timedelta(days=30))
        self.assertEqual(
            reason(decision, "recent_bad_experience"), {"until": bad_at + timedelta(days=30)}
        )

    def test_an_old_bad_experience_holds_nothing(self):
        state = customer(bad_experience_at=NOON - timedelta(days=31))
        self.assertEqual(policy.decide(state, message(), MARKETING, NOON).outcome, DELIVER)

    def test_the_later_of_pause_and_bad_experience_wins(self):
        bad_at = NOON - timedelta(days=5)
        prefs = Preferences(marketing_paused_until=date(2026, 6, 12))
        state = customer(bad_experience_at=bad_at, preferences=prefs)
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.send_at, bad_at + timedelta(days=30))
        self.assertEqual(codes(decision)[-2:], ["marketing_paused", "recent_bad_experience"])


class DuplicateTest(TestCase):
    def test_it_blocks_a_message_sent_recently(self):
        state = customer(recent=((NOON - timedelta(days=3), "marketing", 7),))
        decision = policy.decide(state, message(id=7), MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(reason(decision, "duplicate"), {"days": 30})

    def test_it_blocks_a_message_already_waiting_to_go(self):
        state = customer(pending_messages=frozenset({7}))
        self.assertEqual(
            policy.decide(state, message(id=7), MARKETING, NOON).blocking_reason, "duplicate"
        )

    def test_it_sends_again_after_the_duplicate_window(self):
        state = customer(recent=((NOON - timedelta(days=31), "marketing", 7),))
        self.assertEqual(policy.decide(state, message(id=7), MARKETING, NOON).outcome, DELIVER)

    def test_another_message_is_not_a_duplicate(self):
        state = customer(
            recent=((NOON - timedelta(days=1), "marketing", 8),), pending_messages=frozenset({9})
        )
        self.assertEqual(policy.decide(state, message(id=7), MARKETING, NOON).outcome, DELIVER)


class SurveyRecontactTest(TestCase):
    def test_it_sends_one_survey_per_period(self):
        state = customer(granted=(), last_survey_at=NOON - timedelta(days=10))
        decision = policy.decide(state, message("feedback"), FEEDBACK, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(
            reason(decision, "survey_recontact"), {"days": 30, "last": NOON - timedelta(days=10)}
        )

    def test_it_surveys_again_after_the_period(self):
        state = customer(granted=(), last_survey_at=NOON - timedelta(days=31))
        self.assertEqual(policy.decide(state, message("feedback"), FEEDBACK, NOON).outcome, DELIVER)

    def test_it_never_surveys_twice_about_the_same_interaction(self):
        state = customer(granted=(), surveyed_interactions=frozenset({42}))
        decision = policy.decide(state, message("feedback", interaction_id=42), FEEDBACK, NOON)
        self.assertEqual(decision.blocking_reason, "interaction_already_surveyed")
        other = policy.decide(state, message("feedback", interaction_id=43), FEEDBACK, NOON)
        self.assertEqual(other.outcome, DELIVER)

    def test_the_recontact_rule_leaves_other_purposes_alone(self):
        params = replace(SERVICE, survey_recontact_days=30)
        state = customer(granted=(), last_survey_at=NOON - timedelta(days=1))
        self.assertEqual(policy.decide(state, message("service"), params, NOON).outcome, DELIVER)


class QuietHoursTest(TestCase):
    def test_it_defers_email_during_quiet_hours_until_the_morning(self):
        decision = policy.decide(customer(), message(), MARKETING, EVENING)
        self.assertEqual(decision.outcome, DEFER)
        self.assertEqual(decision.channel, "email")
        self.assertEqual(decision.send_at, datetime(2026, 6, 11, 8, 0, tzinfo=PARIS))
        self.assertEqual(reason(decision, "quiet_hours"), {"until": decision.send_at})

    def test_it_defers_sms_during_quiet_hours(self):
        state = customer(granted=("sms",))
        decision = policy.decide(state, message(), MARKETING, EVENING)
        self.assertEqual((decision.outcome, decision.channel), (DEFER, "sms"))

    def test_the_quiet_window_wraps_past_midnight(self):
        cases = {
            time(20, 59): None,
            time(21, 0): datetime(2026, 6, 11, 8, 0, tzinfo=PARIS),
            time(23, 59): datetime(2026, 6, 11, 8, 0, tzinfo=PARIS),
            time(0, 0): datetime(2026, 6, 10, 8, 0, tzinfo=PARIS),
            time(7, 59): datetime(2026, 6, 10, 8, 0, tzinfo=PARIS),
            time(8, 0): None,
        }
        for clock, expected in cases.items():
            now = datetime.combine(date(2026, 6, 10), clock, tzinfo=PARIS)
            decision = policy.decide(customer(), message(), MARKETING, now)
            if expected is None:
                self.assertEqual(decision.outcome, DELIVER, clock)
            else:
                self.assertEqual((decision.outcome, decision.send_at), (DEFER, expected), clock)

    def test_quiet_hours_are_read_in_the_customers_zone(self):
        now = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 12:00 in Paris, 06:00 in New York
        in_paris = policy.decide(customer(), message(), MARKETING, now)
        self.assertEqual(in_paris.outcome, DELIVER)
        in_new_york = policy.decide(
            customer(time_zone="America/New_York"), message(), MARKETING, now
        )
        self.assertEqual(in_new_york.outcome, DEFER)
        self.assertEqual(in_new_york.send_at, datetime(2026, 6, 10, 8, 0, tzinfo=NEW_YORK))

    def test_an_unknown_zone_is_read_as_utc(self):
        now = datetime(2026, 6, 10, 21, 30, tzinfo=UTC)
        decision = policy.decide(customer(time_zone="Mars/Olympus"), message(), MARKETING, now)
        self.assertEqual(decision.send_at, datetime(2026, 6, 11, 8, 0, tzinfo=UTC))

    def test_the_customers_own_window_replaces_the_company_default(self):
        prefs = Preferences(quiet_start=time(12, 0), quiet_end=time(14, 0))
        state = customer(preferences=prefs)
        at_lunch = policy.decide(state, message(), MARKETING, NOON + timedelta(minutes=30))
        self.assertEqual(at_lunch.send_at, datetime(2026, 6, 10, 14, 0, tzinfo=PARIS))
        self.assertEqual(policy.decide(state, message(), MARKETING, EVENING).outcome, DELIVER)

    def test_the_company_window_comes_from_the_parameters(self):
        params = replace(MARKETING, quiet_start=time(18, 0), quiet_end=time(9, 30))
        decision = policy.decide(
            customer(), message(), params, datetime(2026, 6, 10, 19, 0, tzinfo=PARIS)
        )
        self.assertEqual(decision.send_at, datetime(2026, 6, 11, 9, 30, tzinfo=PARIS))
        none = replace(MARKETING, quiet_start=None, quiet_end=None)
        self.assertEqual(policy.decide(customer(), message(), none, EVENING).outcome, DELIVER)

    def test_it_holds_messages_on_the_customers_quiet_days(self):
        sunday = datetime(2026, 6, 14, 12, 0, tzinfo=PARIS)
        state = customer(preferences=Preferences(quiet_days=frozenset({6})))
        decision = policy.decide(state, message(), MARKETING, sunday)
        # Monday starts at midnight, still in the night's quiet hours: the morning it is.
        self.assertEqual(decision.send_at, datetime(2026, 6, 15, 8, 0, tzinfo=PARIS))
        weekend = customer(preferences=Preferences(quiet_days=frozenset({5, 6})))
        friday_night = datetime(2026, 6, 12, 22, 0, tzinfo=PARIS)
        decision = policy.decide(weekend, message(), MARKETING, friday_night)
        self.assertEqual(decision.send_at, datetime(2026, 6, 15, 8, 0, tzinfo=PARIS))

    def test_every_day_quiet_is_read_as_a_mistake_not_a_ban(self):
        state = customer(preferences=Preferences(quiet_days=frozenset(range(7))))
        self.assertEqual(policy.decide(state, message(), MARKETING, NOON).outcome, DELIVER)

    def test_letters_and_webhooks_are_not_held_by_quiet_hours(self):
        for channel in ("postal", "webhook"):
            state = customer(granted=(channel,))
            decision = policy.decide(state, message(channels=(channel,)), MARKETING, EVENING)
            self.assertEqual((decision.outcome, decision.channel), (DELIVER, channel))
            self.assertNotIn("quiet_hours", codes(decision))

    def test_phone_calls_are_held_by_quiet_hours(self):
        state = customer(granted=("phone",))
        decision = policy.decide(state, message(channels=("phone",)), MARKETING, EVENING)
        self.assertEqual(decision.outcome, DEFER)


class QuietHoursAcrossClockChangesTest(TestCase):
    LATE = Preferences(quiet_start=time(22, 0), quiet_end=time(2, 30))

    def test_a_window_ending_at_a_skipped_time_ends_when_the_clock_jumps(self):
        # Paris, 2026-03-29: 02:00 becomes 03:00, so 02:30 never shows on the clock.
        state = customer(preferences=self.LATE)
        now = datetime(2026, 3, 28, 23, 0, tzinfo=PARIS)
        decision = policy.decide(state, message(), MARKETING, now)
        self.assertEqual(decision.outcome, DEFER)
        self.assertEqual(decision.send_at, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
        self.assertEqual(decision.send_at.astimezone(PARIS).time(), time(3, 0))

    def test_a_window_ending_at_a_skipped_time_in_new_york(self):
        # New York, 2026-03-08: 02:00 EST becomes 03:00 EDT.
        state = customer(preferences=self.LATE, time_zone="America/New_York")
        now = datetime(2026, 3, 7, 23, 0, tzinfo=NEW_YORK)
        decision = policy.decide(state, message(), MARKETING, now)
        self.assertEqual(decision.send_at, datetime(2026, 3, 8, 7, 0, tzinfo=UTC))

    def test_twenty_one_to_eight_stays_eight_local_after_spring_forward(self):
        now = datetime(2026, 3, 28, 22, 0, tzinfo=PARIS)  # UTC+1
        decision = policy.decide(customer(), message(), MARKETING, now)
        self.assertEqual(decision.send_at, datetime(2026, 3, 29, 6, 0, tzinfo=UTC))  # 08:00 UTC+2
        self.assertEqual(decision.send_at.astimezone(UTC) - now.astimezone(UTC), timedelta(hours=9))

    def test_twenty_one_to_eight_stays_eight_local_after_fall_back(self):
        now = datetime(2026, 10, 24, 22, 0, tzinfo=PARIS)  # UTC+2
        decision = policy.decide(customer(), message(), MARKETING, now)
        self.assertEqual(decision.send_at, datetime(2026, 10, 25, 7, 0, tzinfo=UTC))  # 08:00 UTC+1
        self.assertEqual(
            decision.send_at.astimezone(UTC) - now.astimezone(UTC), timedelta(hours=11)
        )

    def test_twenty_one_to_eight_in_new_york_across_both_changes(self):
        spring = policy.decide(
            customer(time_zone="America/New_York"),
            message(),
            MARKETING,
            datetime(2026, 3, 7, 22, 0, tzinfo=NEW_YORK),
        )
        self.assertEqual(spring.send_at, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))  # 08:00 EDT
        fall = policy.decide(
            customer(time_zone="America/New_York"),
            message(),
            MARKETING,
            datetime(2026, 10, 31, 22, 0, tzinfo=NEW_YORK),
        )
        self.assertEqual(fall.send_at, datetime(2026, 11, 1, 13, 0, tzinfo=UTC))  # 08:00 EST

    def test_the_repeated_hour_of_fall_back_is_quiet_both_times(self):
        # Paris, 2026-10-25: 03:00 becomes 02:00, so 02:15 shows twice.
        state = customer(preferences=self.LATE)
        first = datetime(2026, 10, 25, 2, 15, tzinfo=PARIS, fold=0)
        second = datetime(2026, 10, 25, 2, 15, tzinfo=PARIS, fold=1)
        self.assertEqual(second.astimezone(UTC) - first.astimezone(UTC), timedelta(hours=1))
        early = policy.decide(state, message(), MARKETING, first.astimezone(UTC))
        self.assertEqual(early.send_at, datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # 02:30 CEST
        late = policy.decide(state, message(), MARKETING, second.astimezone(UTC))
        self.assertEqual(late.outcome, DEFER)
        self.assertEqual(late.send_at, datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # 02:30 CET

    def test_the_send_time_is_never_before_now(self):
        state = customer(preferences=self.LATE)
        start = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
        for minutes in range(0, 9 * 60, 5):
            now = start + timedelta(minutes=minutes)
            decision = policy.decide(state, message(), MARKETING, now)
            self.assertGreaterEqual(decision.send_at, now, now)
            local = decision.send_at.astimezone(PARIS).time()
            self.assertFalse(time(22, 0) <= local or local < time(2, 30), now)


class FrequencyCapTest(TestCase):
    def sent(self, *days_ago_and_purpose):
        return tuple(
            (NOON - timedelta(days=days), purpose, 100 + i)
            for i, (days, purpose) in enumerate(days_ago_and_purpose)
        )

    def test_the_customers_weekly_cap_counts_every_purpose(self):
        prefs = Preferences(max_per_week=2)
        state = customer(preferences=prefs, recent=self.sent((2, "service"), (1, "feedback")))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.outcome, DEFER)
        self.assertEqual(decision.send_at, NOON + timedelta(days=5))
        self.assertEqual(
            reason(decision, "frequency_cap"),
            {
                "cap": "customer_week",
                "limit": 2,
                "purpose": "marketing",
                "until": NOON + timedelta(days=5),
            },
        )

    def test_the_customers_monthly_cap_counts_a_rolling_thirty_days(self):
        prefs = Preferences(max_per_month=3)
        recent = self.sent((25, "service"), (20, "marketing"), (10, "feedback"))
        decision = policy.decide(
            customer(preferences=prefs, recent=recent), message(), MARKETING, NOON
        )
        self.assertEqual(decision.send_at, NOON + timedelta(days=5))
        self.assertEqual(reason(decision, "frequency_cap")["cap"], "customer_month")
        older = self.sent((31, "service"), (20, "marketing"), (10, "feedback"))
        self.assertEqual(
            policy.decide(
                customer(preferences=prefs, recent=older), message(), MARKETING, NOON
            ).outcome,
            DELIVER,
        )

    def test_the_week_rolls_rather_than_resetting_on_monday(self):
        prefs = Preferences(max_per_week=1)
        just_out = ((NOON - timedelta(days=7), "marketing", 100),)
        self.assertEqual(
            policy.decide(
                customer(preferences=prefs, recent=just_out), message(), MARKETING, NOON
            ).outcome,
            DELIVER,
        )
        just_in = ((NOON - timedelta(days=7) + timedelta(minutes=1), "marketing", 100),)
        decision = policy.decide(
            customer(preferences=prefs, recent=just_in), message(), MARKETING, NOON
        )
        self.assertEqual(decision.send_at, NOON + timedelta(minutes=1))

    def test_a_message_stamped_a_moment_later_by_another_sender_counts(self):
        # Two senders read the clock, the later one takes the customer's lock first.
        prefs = Preferences(max_per_week=1)
        claimed_first = NOON + timedelta(milliseconds=30)
        state = customer(preferences=prefs, recent=((claimed_first, "marketing", 100),))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.outcome, DEFER)
        self.assertEqual(decision.send_at, claimed_first + timedelta(days=7))

    def test_a_purpose_cap_counts_only_that_purpose(self):
        prefs = Preferences(purpose_caps=(("marketing", 1, None),))
        other = customer(preferences=prefs, recent=self.sent((1, "service"), (2, "feedback")))
        self.assertEqual(policy.decide(other, message(), MARKETING, NOON).outcome, DELIVER)
        same = customer(preferences=prefs, recent=self.sent((1, "marketing")))
        decision = policy.decide(same, message(), MARKETING, NOON)
        self.assertEqual(decision.send_at, NOON + timedelta(days=6))
        self.assertEqual(reason(decision, "frequency_cap")["cap"], "purpose_week")

    def test_the_companys_marketing_caps_apply(self):
        state = customer(recent=self.sent((3, "marketing"), (1, "marketing")))
        decision = policy.decide(state, message(), MARKETING, NOON)
        self.assertEqual(decision.send_at, NOON + timedelta(days=4))
        monthly = customer(recent=self.sent(*[(d, "marketing") for d in (29, 25, 20, 15, 10, 8)]))
        decision = policy.decide(monthly, message(), MARKETING, NOON)
        self.assertEqual(reason(decision, "frequency_cap")["cap"], "purpose_month")
        self.assertEqual(decision.send_at, NOON + timedelta(days=1))

    def test_service_messages_are_exempt_from_marketing_caps(self):
        state = customer(recent=self.sent((1, "marketing"), (2, "marketing"), (3, "marketing")))
        decision = policy.decide(state, message("service", id=8), SERVICE, NOON)
        self.assertEqual(decision.outcome, DELIVER)

    def test_service_messages_count_against_the_customers_own_cap(self):
        prefs = Preferences(max_per_week=1)
        state = customer(preferences=prefs, recent=self.sent((1, "marketing")))
        decision = policy.decide(state, message("service", id=8), SERVICE, NOON)
        self.assertEqual(decision.outcome, DEFER)
        self.assertEqual(reason(decision, "frequency_cap")["cap"], "customer_week")

    def test_a_cap_of_zero_blocks(self):
        for prefs, label in (
            (Preferences(max_per_week=0), "customer_week"),
            (Preferences(max_per_month=0), "customer_month"),
            (Preferences(purpose_caps=(("marketing", None, 0),)), "purpose_month"),
        ):
            decision = policy.decide(customer(preferences=prefs), message(), MARKETING, NOON)
            self.assertEqual(decision.outcome, BLOCK, label)
            self.assertEqual(reason(decision, "cap_zero"), {"cap": label, "purpose": "marketing"})
        params = replace(MARKETING, week_cap=0)
        self.assertEqual(
            policy.decide(customer(), message(), params, NOON).blocking_reason, "cap_zero"
        )

    def test_a_cap_that_frees_during_quiet_hours_waits_for_the_morning(self):
        prefs = Preferences(max_per_week=1)
        recent = ((NOON - timedelta(days=7) + timedelta(hours=11), "service", 100),)  # frees 23:00
        decision = policy.decide(
            customer(preferences=prefs, recent=recent), message(), MARKETING, NOON
        )
        self.assertEqual(decision.send_at, datetime(2026, 6, 11, 8, 0, tzinfo=PARIS))
        self.assertEqual(codes(decision)[-2:], ["frequency_cap", "quiet_hours"])

    def test_a_cap_that_frees_after_the_quiet_hours_is_waited_for(self):
        prefs = Preferences(max_per_week=1)
        sent_at = datetime(2026, 6, 4, 9, 0, tzinfo=PARIS)  # frees on 11 June at 09:00
        decision = policy.decide(
            customer(preferences=prefs, recent=((sent_at, "service", 100),)),
            message(),
            MARKETING,
            EVENING,
        )
        self.assertEqual(decision.send_at, datetime(2026, 6, 11, 9, 0, tzinfo=PARIS))
        self.assertEqual(codes(decision)[-2:], ["quiet_hours", "frequency_cap"])

    def test_a_cap_freeing_after_expiry_blocks(self):
        prefs = Preferences(max_per_week=1)
        state = customer(preferences=prefs, recent=self.sent((1, "service")))
        spec = message(expires_at=NOON + timedelta(days=2))
        decision = policy.decide(state, spec, MARKETING, NOON)
        self.assertEqual(decision.outcome, BLOCK)
        self.assertEqual(codes(decision)[-2:], ["frequency_cap", "would_expire"])


class DeterminismTest(TestCase):
    def test_the_same_input_gives_the_same_decision(self):
        state = customer(
            granted=("email", "sms"),
            preferences=Preferences(max_per_week=1, channels=("sms", "email")),
            recent=((NOON - timedelta(days=2), "service", 3),),
            interests=frozenset({"shoes"}),
        )
        spec = message(topics=frozenset({"shoes"}))
        first = policy.decide(state, spec, MARKETING, EVENING)
        for _ in range(3):
            self.assertEqual(policy.decide(state, spec, MARKETING, EVENING), first)
        self.assertEqual(policy.decide(replace(state), spec, MARKETING, EVENING), first)

    def test_deciding_many_equals_deciding_each(self):
        states = [
            (1, customer()),
            (2, customer(granted=())),
            (3, customer()),  # equal to the first
            (4, customer(time_zone="America/New_York")),
            (5, customer(preferences=Preferences(max_per_week=0))),
            (6, customer(granted=())),
        ]
        spec = message()
        many = list(policy.decide_many(states, spec, MARKETING, NOON))
        self.assertEqual([cid for cid, _d in many], [1, 2, 3, 4, 5, 6])
        for (cid, state), (_cid, decision) in zip(states, many, strict=True):
            self.assertEqual(decision, policy.decide(state, spec, MARKETING, NOON), cid)
        decisions = dict(many)
        self.assertIs(decisions[1], decisions[3])  # decided once
        self.assertIs(decisions[2], decisions[6])
        self.assertEqual(decisions[4].outcome, DEFER)


class IdleHistoryTest(TestCase):
    """Dropping a history that cannot matter must never change a decision."""

    def random_state(self, rng) -> CustomerState:
        now = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
        recent = tuple(
            sorted(
                (
                    now - timedelta(hours=rng.randint(1, 24 * 35)),
                    rng.choice(["marketing", "service", "feedback"]),
                    rng.choice([1, 2, 3]),
                )
                for _ in range(rng.randint(0, 5))
            )
        )
        prefs = Preferences(
            max_per_week=rng.choice([None, 1, 2, 3]),
            max_per_month=rng.choice([None, 2, 4]),
            purpose_caps=rng.choice([(), (("marketing", 1, None),), (("marketing", None, 2),)]),
            quiet_start=rng.choice([None, time(20, 0)]),
            quiet_end=time(8, 0),
        )
        return customer(
            granted=("email", "sms"),
            addresses=frozenset({"email", "sms"}),
            recent=recent,
            preferences=prefs if prefs.quiet_start else replace(prefs, quiet_end=None),
        )

    def test_it_decides_the_same_with_and_without_an_idle_history(self):
        rng = random.Random(7)
        now = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
        dropped = 0
        for purpose in ("marketing", "service"):
            params = policy.DEFAULT_PARAMS[purpose]
            spec = message(purpose=purpose, id=1)
            for _ in range(1500):
                state = self.random_state(rng)
                lighter = policy.without_idle_history(state, spec, params, now)
                dropped += lighter is not state
                self.assertEqual(
                    policy.decide(lighter, spec, params, now),
                    policy.decide(state, spec, params, now),
                    state,
                )
        self.assertGreater(dropped, 100)  # the rule does apply, not only keep states as they are
