"""The customer's portal: signed links, preference centre, "why did I get this", unsubscribe."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

import time_machine
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from cxcore.customers.models import AuditEntry, Customer, DeclaredAttribute
from cxcore.customers.tests.factories import declare, make_customer
from cxcore.membrane import services
from cxcore.membrane.links import portal_token
from cxcore.membrane.models import ConsentEvent, ConsentState, Preference
from cxcore.membrane.reasons import reason_text
from cxcore.membrane.tests.factories import grant, make_message, withdraw
from cxcore.portal import queries
from cxcore.portal.forms import CONSENT_WORDING, PreferenceCentreForm
from cxcore.test import BaseTestCase

# A Monday at noon in Paris: outside everyone's quiet hours.
NOW = datetime(2026, 3, 16, 11, 0, tzinfo=UTC)
BROWSER = "TestBrowser/1.0 (portal tests)"


def in_french(text: str) -> str:
    """A message as a French page shows it (translated, then HTML-escaped)."""
    with translation.override("fr"):
        return escape(gettext(text))


def portal_url(decision, scope: str, *, purpose: str | None = None) -> str:
    token = portal_token(decision.pk, purpose or decision.purpose, scope)
    return reverse(f"portal:{scope}", kwargs={"token": token})


def sha256(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def current_form_data(customer: Customer, **changes) -> dict:
    """What a browser posts back for the preference centre as shown, with some inputs changed."""
    centre = queries.preference_centre(customer)
    initial = PreferenceCentreForm.initial_for(
        centre, language=customer.language, time_zone=customer.time_zone
    )
    initial.update(changes)
    data = {}
    for name, value in initial.items():
        if value is None:
            data[name] = ""
        elif value is True:
            data[name] = "on"
        elif value is False:
            continue  # an unticked box is not sent at all
        elif isinstance(value, time):
            data[name] = value.strftime("%H:%M")
        elif isinstance(value, date):
            data[name] = value.isoformat()
        else:
            data[name] = value
    return data


@time_machine.travel(NOW, tick=False)
class PortalTestCase(BaseTestCase):
    def setUp(self):
        self.customer = make_customer(
            "Alice",
            "Zorglub",
            email="alice.martin@example.org",
            phone="06 12 34 56 78",
            language="fr",
        )
        grant(self.customer, "marketing", "email")
        self.message = make_message(name="Spring offers")
        _policy, self.decision = services.decision_make(
            customer=self.customer, message=self.message, record=True
        )
        self.other = make_customer("Bruno", "Other", email="bruno@example.org", language="fr")

    def counts(self) -> tuple[int, int, int, int]:
        return (
            ConsentEvent.objects.count(),
            AuditEntry.objects.count(),
            Preference.objects.count(),
            DeclaredAttribute.objects.count(),
        )

    def consent(self, purpose: str, channel: str, customer=None) -> bool | None:
        state = ConsentState.objects.filter(
            customer=customer or self.customer, purpose=purpose, channel=channel
        ).first()
        return None if state is None else state.granted

    def assert_portal_headers(self, response):
        self.assertEqual(response["Referrer-Policy"], "same-origin")
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertEqual(response["X-Robots-Tag"], "noindex")

    def assert_names_no_one(self, response):
        body = response.content.decode()
        for secret in ("Alice", "Zorglub", "alice.martin", "+33612345678", "Spring offers"):
            self.assertNotIn(secret, body)


class PreferenceCentreTest(PortalTestCase):
    def test_it_shows_current_consents_and_changes_nothing(self):
        before = self.counts()
        response = self.client.get(portal_url(self.decision, "preferences"))

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<html lang="fr">')
        self.assertContains(
            response,
            '<input type="checkbox" name="consent__marketing__email" '
            'id="id_consent__marketing__email" checked>',
            html=True,
        )
        self.assertContains(
            response,
            '<input type="checkbox" name="consent__marketing__sms" '
            'id="id_consent__marketing__sms">',
            html=True,
        )
        self.assertContains(response, "Alice")
        # The link can be forwarded: no surname, address or number on the page.
        for private in ("Zorglub", "alice.martin@example.org", "+33612345678", "Bruno"):
            self.assertNotContains(response, private)
        self.assert_portal_headers(response)
        self.assertEqual(self.counts(), before)

    def test_it_records_one_event_for_the_one_box_changed(self):
        data = current_form_data(self.customer, consent__marketing__sms=True)
        before = ConsentEvent.objects.count()

        response = self.client.post(
            portal_url(self.decision, "preferences"),
            data,
            HTTP_USER_AGENT=BROWSER,
            REMOTE_ADDR="203.0.113.7",
        )

        self.assertEqual(response.status_code, 303)
        self.assertEqual(
            response["Location"], portal_url(self.decision, "preferences") + "?saved=1"
        )
        self.assert_portal_headers(response)
        self.assertEqual(ConsentEvent.objects.count(), before + 1)
        event = ConsentEvent.objects.select_related("wording").latest("id")
        self.assertEqual((event.purpose, event.channel, event.granted), ("marketing", "sms", True))
        self.assertEqual(event.source, "preference_centre")
        self.assertEqual(event.ip_address, "203.0.113.7")
        self.assertEqual(event.user_agent, BROWSER)
        self.assertEqual(event.actor_label, "portal")
        with translation.override("fr"):
            shown = str(CONSENT_WORDING)
        self.assertEqual(event.wording.sha256, sha256(shown))
        self.assertEqual(event.wording.language, "fr")
        self.assertEqual(event.wording.version, "portal-v1")
        self.assertTrue(self.consent("marketing", "sms"))
        self.assertTrue(self.consent("marketing", "email"))

        page = self.client.get(response["Location"])
        self.assertContains(page, 'role="status"')
        self.assertContains(page, escape(shown))  # the hashed text is the one on the page

    def test_unticking_withdraws_and_untouched_boxes_record_nothing(self):
        data = current_form_data(self.customer, consent__marketing__email=False)
        before = ConsentEvent.objects.count()

        self.client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(ConsentEvent.objects.count(), before + 1)
        self.assertIs(self.consent("marketing", "email"), False)
        # Service messages need no opt-in: shown ticked, and left alone they stay unrecorded.
        self.assertIsNone(self.consent("service", "email"))

    def test_it_saves_preferences_profile_and_attributes_together(self):
        declare(self.customer, "shoe_size", "38")
        declare(self.customer, "favourite_store", "Lyon")
        data = current_form_data(
            self.customer,
            rank__sms="1",
            rank__email="2",
            topics=["delivery", "price"],
            max_per_week="3",
            max_per_month="",
            marketing_week="1",
            marketing_month="4",
            quiet_start="22:00",
            quiet_end="07:30",
            quiet_days=["6"],
            accessibility=["large_print"],
            marketing_paused_until="2026-04-30",
            language="en",
            time_zone="America/Toronto",
            attribute__shoe_size="39",
        )
        before = ConsentEvent.objects.count()

        response = self.client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(response.status_code, 303)
        preference = Preference.objects.get(customer=self.customer)
        self.assertEqual(preference.channels, ["sms", "email"])
        self.assertEqual(preference.topics, ["delivery", "price"])
        self.assertEqual((preference.max_per_week, preference.max_per_month), (3, None))
        self.assertEqual(preference.purpose_caps, {"marketing": {"week": 1, "month": 4}})
        self.assertEqual((preference.quiet_start, preference.quiet_end), (time(22), time(7, 30)))
        self.assertEqual(preference.quiet_days, [6])
        self.assertEqual(preference.accessibility, ["large_print"])
        self.assertEqual(preference.marketing_paused_until, date(2026, 4, 30))
        self.customer.refresh_from_db()
        self.assertEqual(
            (self.customer.language, self.customer.time_zone), ("en", "America/Toronto")
        )
        attributes = dict(self.customer.attributes.values_list("key", "value"))
        self.assertEqual(attributes, {"shoe_size": "39", "favourite_store": "Lyon"})
        changed = AuditEntry.objects.filter(action="declare_attribute", via="portal")
        self.assertEqual([entry.changes["key"] for entry in changed], ["shoe_size"])
        self.assertEqual(ConsentEvent.objects.count(), before)  # no box changed

        # The page follows the customer's new language and shows what was saved.
        page = self.client.get(response["Location"])
        self.assertContains(page, '<html lang="en">')
        self.assertContains(page, '<option value="1" selected>1st</option>', html=True)

    def test_invalid_preferences_save_nothing_at_all(self):
        data = current_form_data(
            self.customer,
            consent__marketing__sms=True,
            quiet_start="22:00",
            quiet_end="",
            language="en",
        )
        before = self.counts()

        response = self.client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(response.status_code, 422)
        self.assertContains(
            response,
            in_french("Give both the start and the end of your quiet hours."),
            2,
            status_code=422,
        )
        self.assertContains(response, 'href="#id_quiet_end"', status_code=422)
        self.assertContains(response, 'aria-describedby="id_quiet_end_error"', status_code=422)
        self.assertContains(response, 'id="id_quiet_end_error"', status_code=422)
        self.assertEqual(self.counts(), before)
        self.assertIsNone(self.consent("marketing", "sms"))
        self.customer.refresh_from_db()
        self.assertEqual(self.customer.language, "fr")

    def test_a_refused_group_is_shown_on_its_fieldset(self):
        data = current_form_data(self.customer, rank__email="1", rank__sms="1")

        response = self.client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(response.status_code, 422)
        self.assertContains(response, 'id="channels-error"', status_code=422)
        self.assertContains(response, 'href="#id_rank__email"', status_code=422)
        self.assertContains(response, 'aria-describedby="channels-error"', status_code=422)
        self.assertFalse(Preference.objects.exists())

    def test_no_digital_with_email_is_refused_by_the_service(self):
        data = current_form_data(
            self.customer,
            rank__email="1",
            accessibility=["no_digital"],
            consent__marketing__postal=True,
        )
        before = self.counts()

        response = self.client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(response.status_code, 422)
        self.assertContains(response, 'id="channels-error"', status_code=422)
        self.assertContains(
            response,
            in_french("You asked for no digital channel: choose post or phone only."),
            status_code=422,
        )
        self.assertEqual(self.counts(), before)

    def test_an_emptied_attribute_is_refused(self):
        declare(self.customer, "shoe_size", "38")
        data = current_form_data(self.customer, attribute__shoe_size="  ")

        response = self.client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(response.status_code, 422)
        self.assertContains(response, 'href="#id_attribute__shoe_size"', status_code=422)
        self.assertEqual(self.customer.attributes.get().value, "38")

    def test_topics_set_elsewhere_survive_a_save(self):
        Preference.objects.create(customer=self.customer, topics=["loyalty", "price"])
        data = current_form_data(self.customer, max_per_week="2")

        self.client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(Preference.objects.get().topics, ["loyalty", "price"])

    def test_a_post_needs_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        before = self.counts()
        data = current_form_data(self.customer, consent__marketing__sms=True)

        response = client.post(portal_url(self.decision, "preferences"), data)

        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.counts(), before)

    def test_html_in_values_is_escaped(self):
        self.customer.first_name = '<b onmouseover="x()">Al</b>'
        self.customer.save()
        declare(self.customer, "nickname", '"><script>alert(1)</script>')

        response = self.client.get(portal_url(self.decision, "preferences"))

        self.assertNotContains(response, "<script>alert(1)</script>")
        self.assertNotContains(response, '<b onmouseover="x()">')
        self.assertContains(response, 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"')
        self.assertContains(response, "&lt;b onmouseover=&quot;x()&quot;&gt;Al&lt;/b&gt;")

    def test_a_merged_customer_is_served_as_the_survivor(self):
        survivor = make_customer("Alicia", "Survivor", language="en")
        Customer.objects.filter(pk=self.customer.pk).update(merged_into=survivor)

        response = self.client.get(portal_url(self.decision, "preferences"))
        self.assertContains(response, "Alicia")
        self.assertContains(response, '<html lang="en">')

        data = {
            **current_form_data(survivor, consent__marketing__sms=True),
            "language": "en",
        }
        self.client.post(portal_url(self.decision, "preferences"), data)
        self.assertTrue(self.consent("marketing", "sms", customer=survivor))
        self.assertIsNone(self.consent("marketing", "sms"))

    def test_the_language_switch_changes_only_the_page(self):
        response = self.client.get(portal_url(self.decision, "preferences") + "?lang=en")

        self.assertContains(response, '<html lang="en">')
        self.assertContains(
            response, f'action="{portal_url(self.decision, "preferences")}?lang=en"'
        )
        self.customer.refresh_from_db()
        self.assertEqual(self.customer.language, "fr")
        self.assertEqual(set(response.cookies), {settings.CSRF_COOKIE_NAME})


class BadLinkTest(PortalTestCase):
    def altered(self, token: str) -> str:
        first = "X" if token[0] != "X" else "Y"
        return first + token[1:]

    def assert_refused(self, url: str, status: int = 404, *, post: bool = False):
        before = self.counts()
        states = list(ConsentState.objects.values_list("purpose", "channel", "granted"))
        client = Client(enforce_csrf_checks=True)
        response = client.post(url) if post else client.get(url)
        self.assertEqual(response.status_code, status)
        self.assertContains(response, "<h1>", status_code=status)
        self.assert_names_no_one(response)
        self.assert_portal_headers(response)
        self.assertEqual(self.counts(), before)
        self.assertEqual(
            list(ConsentState.objects.values_list("purpose", "channel", "granted")), states
        )
        return response

    def test_a_forged_token_is_refused(self):
        forged = signing.dumps(
            [self.decision.pk, "marketing"], key="not-our-key", salt="cxcore.portal.unsubscribe"
        )
        for scope in ("preferences", "why", "unsubscribe"):
            self.assert_refused(reverse(f"portal:{scope}", kwargs={"token": forged}))
        self.assert_refused(reverse("portal:unsubscribe", kwargs={"token": forged}), post=True)

    def test_an_altered_token_is_refused(self):
        for scope in ("preferences", "why", "unsubscribe"):
            token = self.altered(portal_token(self.decision.pk, "marketing", scope))
            self.assert_refused(reverse(f"portal:{scope}", kwargs={"token": token}))
        token = self.altered(portal_token(self.decision.pk, "marketing", "unsubscribe"))
        self.assert_refused(reverse("portal:unsubscribe", kwargs={"token": token}), post=True)

    def test_an_expired_token_is_gone(self):
        unsubscribe = portal_url(self.decision, "unsubscribe")
        preferences = portal_url(self.decision, "preferences")
        later = NOW + timedelta(days=settings.PORTAL_LINK_MAX_AGE_DAYS, minutes=1)
        with time_machine.travel(later, tick=False):
            response = self.assert_refused(unsubscribe, status=410, post=True)
            self.assert_refused(preferences, status=410)
        self.assertContains(response, "expired", status_code=410)
        self.assertIs(self.consent("marketing", "email"), True)

    def test_a_token_of_another_scope_is_refused(self):
        why_token = portal_token(self.decision.pk, "marketing", "why")
        url = reverse("portal:unsubscribe", kwargs={"token": why_token})
        self.assert_refused(url)
        self.assert_refused(url, post=True)
        self.assertIs(self.consent("marketing", "email"), True)

    def test_a_purpose_that_is_not_the_decisions_is_refused(self):
        self.assert_refused(portal_url(self.decision, "unsubscribe", purpose="service"), post=True)
        self.assert_refused(portal_url(self.decision, "preferences", purpose="service"))

    def test_a_missing_decision_is_refused(self):
        token = portal_token(self.decision.pk + 1000, "marketing", "why")
        self.assert_refused(reverse("portal:why", kwargs={"token": token}))

    def test_the_page_speaks_the_language_asked(self):
        response = self.client.get("/p/nonsense/?lang=fr")
        self.assertEqual(response.status_code, 404)
        self.assertContains(response, '<html lang="fr">', status_code=404)


class UnsubscribeTest(PortalTestCase):
    def test_get_asks_and_changes_nothing(self):
        before = self.counts()

        response = self.client.get(portal_url(self.decision, "unsubscribe") + "?lang=en")

        self.assertContains(response, "Stop marketing messages by email")
        self.assertNotContains(response, "csrfmiddlewaretoken")
        self.assert_portal_headers(response)
        self.assertEqual(self.counts(), before)
        self.assertIs(self.consent("marketing", "email"), True)

    def test_post_withdraws_with_the_sentence_shown(self):
        before = ConsentEvent.objects.count()

        response = self.client.post(
            portal_url(self.decision, "unsubscribe") + "?lang=en",
            HTTP_USER_AGENT=BROWSER,
        )

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, portal_url(self.decision, "preferences") + "?lang=en")
        self.assert_portal_headers(response)
        self.assertIs(self.consent("marketing", "email"), False)
        self.assertEqual(ConsentEvent.objects.count(), before + 1)
        event = ConsentEvent.objects.select_related("wording").latest("id")
        self.assertEqual(event.source, "preference_centre")
        self.assertEqual(event.user_agent, BROWSER)
        self.assertEqual(event.ip_address, "127.0.0.1")
        self.assertEqual(event.wording.text, "Stop marketing messages by email")
        self.assertEqual(event.wording.sha256, sha256("Stop marketing messages by email"))

    def test_one_click_post_without_csrf_token_withdraws(self):
        client = Client(enforce_csrf_checks=True)

        response = client.post(
            portal_url(self.decision, "unsubscribe"),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )

        self.assertEqual(response.status_code, 200)
        self.assertIs(self.consent("marketing", "email"), False)
        self.assertEqual(response.cookies, {})  # nothing to keep: no session, no CSRF cookie

    def test_a_second_post_records_nothing_new(self):
        url = portal_url(self.decision, "unsubscribe")
        self.client.post(url)
        before = self.counts()

        response = self.client.post(url)

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'role="status"')
        self.assertEqual(self.counts(), before)

    def test_it_stops_the_channel_the_delivery_went_by(self):
        withdraw(self.customer, "marketing", "email")
        grant(self.customer, "marketing", "sms")
        message = make_message(name="Summer offers")
        _policy, decision = services.decision_make(
            customer=self.customer, message=message, record=True
        )
        self.assertEqual(decision.channel, "sms")

        self.client.post(portal_url(decision, "unsubscribe"))

        self.assertIs(self.consent("marketing", "sms"), False)


class WhyTest(PortalTestCase):
    def setUp(self):
        super().setUp()
        self.survey = make_message("research", name="Kitchen study")
        _policy, self.blocked = services.decision_make(
            customer=self.customer, message=self.survey, record=True
        )
        self.assertEqual(self.blocked.outcome, "block")

    def test_it_lists_the_reasons_in_the_customers_language(self):
        response = self.client.get(portal_url(self.decision, "why"))

        self.assertContains(response, '<html lang="fr">')
        self.assertContains(response, "Spring offers")
        self.assertContains(response, "16 mars 2026")  # dates follow French formats
        for reason in self.decision.reason_set.reasons:
            text = reason_text(reason["code"], reason["params"], language="fr")
            self.assertContains(response, escape(text))
        self.assertContains(response, portal_url(self.decision, "preferences"))
        self.assert_portal_headers(response)

    def test_lang_switches_the_page_to_english(self):
        response = self.client.get(portal_url(self.decision, "why") + "?lang=en")

        self.assertContains(response, '<html lang="en">')
        self.assertContains(response, "March 16, 2026")
        for reason in self.decision.reason_set.reasons:
            text = reason_text(reason["code"], reason["params"], language="en")
            self.assertContains(response, text)
        self.assertContains(response, portal_url(self.decision, "preferences") + "?lang=en")

    def test_it_lists_what_was_not_sent(self):
        response = self.client.get(portal_url(self.decision, "why") + "?lang=en")

        self.assertContains(response, "What we chose not to send you")
        self.assertContains(response, "Kitchen study")
        for reason in self.blocked.reason_set.reasons:
            self.assertContains(response, reason_text(reason["code"], reason["params"]))

    def test_a_cancelled_delivery_shows_its_own_reasons(self):
        delivery = self.decision.delivery
        delivery.status = "cancelled"
        delivery.reasons = [
            {
                "code": "consent_withdrawn",
                "effect": "block",
                "params": {"purpose": "marketing", "channel": "email"},
            }
        ]
        delivery.save()
        why_blocked = portal_url(self.blocked, "why") + "?lang=en"

        response = self.client.get(why_blocked)

        self.assertContains(response, "Spring offers")
        self.assertContains(response, "You withdrew your consent to marketing messages by email.")

    def test_it_never_lists_another_customers_messages(self):
        other_message = make_message("research", name="Someone else's study")
        services.decision_make(customer=self.other, message=other_message, record=True)

        response = self.client.get(portal_url(self.decision, "why"))

        self.assertNotContains(response, "Someone else")
        self.assertNotContains(response, "Bruno")

    def test_it_loads_the_page_in_a_few_queries(self):
        for name in ("Study one", "Study two", "Study three"):
            services.decision_make(
                customer=self.customer, message=make_message("research", name=name), record=True
            )
        with self.assertNumQueries(2):
            response = self.client.get(portal_url(self.decision, "why"))
        self.assertContains(response, "Study three")

    def test_it_only_answers_get(self):
        response = self.client.post(portal_url(self.decision, "why"))
        self.assertEqual(response.status_code, 405)
        self.assert_portal_headers(response)
