"""Survey results: figures with their intervals, breakdowns, filters, comments, pages and API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cxcore.api.services import api_token_create
from cxcore.customers.models import AuditEntry
from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import queries, services
from cxcore.feedback.models import Invitation, Response
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase

ACTOR = Actor(via="test")
JAN = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
FEB = datetime(2025, 2, 15, 10, 0, tzinfo=UTC)


def results_survey_data() -> dict:
    def q(key, kind, **extra):
        return {"key": key, "type": kind, "text_fr": f"{key} ?", "text_en": f"{key}?", **extra}

    return {
        "name": "After delivery",
        "kind": "transactional",
        "touchpoint": "delivery",
        "title_fr": "Votre livraison",
        "title_en": "Your delivery",
        "questions": [
            q("nps", "nps", text_fr="Recommanderiez-vous ?", text_en="Would you recommend us?"),
            q("csat", "csat"),
            q("ces", "ces"),
            q("stars", "rating"),
            q(
                "reason",
                "single",
                choices=[
                    {"value": "price", "fr": "Le prix", "en": "The price"},
                    {"value": "service", "fr": "Le service", "en": "The service"},
                ],
            ),
            q(
                "why",
                "multiple",
                choices=[
                    {"value": "late", "fr": "En retard", "en": "Late"},
                    {"value": "damaged", "fr": "Abîmé", "en": "Damaged"},
                ],
            ),
            q("again", "yes_no"),
            q("comment", "text", text_fr="Un mot ?", text_en="Anything else?"),
        ],
    }


class ResultsFixture:
    """A survey on two touchpoints, and a way to answer it at a given time."""

    def make_survey(self):
        self.delivery = make_touchpoint("delivery", name_en="Delivery", name_fr="Livraison")
        self.store = make_touchpoint("store", name_en="Store", name_fr="Magasin")
        survey = services.survey_create(actor=ACTOR, data=results_survey_data())
        self.survey = services.survey_open(actor=ACTOR, survey=survey)
        self.customer = make_customer("Léa", "Roux", email="lea@example.org")

    def respond(
        self,
        answers: dict,
        *,
        at: datetime = JAN,
        touchpoint=None,
        channel: str = "web",
        complete: bool = True,
        seconds: int = 0,
        customer=None,
    ) -> Response:
        customer = customer or self.customer
        interaction = make_interaction(
            customer, touchpoint or self.delivery, at - timedelta(hours=1)
        )
        invitation = services.invitation_create(
            survey=self.survey, channel=channel, customer=customer, interaction=interaction
        )
        response = services.response_submit(
            token=invitation.token, answers=answers, complete=complete, now=at
        )
        if seconds:
            Response.objects.filter(pk=response.pk).update(
                started_at=at - timedelta(seconds=seconds)
            )
        return response

    def answer_nps(self, scores, **kwargs):
        for score in scores:
            self.respond({"nps": score}, **kwargs)


class SurveyResultsTests(ResultsFixture, BaseTestCase):
    def setUp(self):
        self.make_survey()

    def question(self, results, key):
        return next(q for q in results["questions"] if q["key"] == key)

    def test_it_scores_nps_with_its_interval_and_distribution(self):
        self.answer_nps([9, 10, 9, 10, 9, 7, 8, 7, 0, 6])
        # Partial answers count nowhere, with or without filters.
        self.respond({"nps": 0, "why": ["late"], "again": True}, complete=False)
        filtered = queries.survey_results(self.survey, channel="web")
        self.assertEqual(self.question(filtered, "nps")["n"], 10)
        self.assertEqual(self.question(filtered, "why")["n"], 0)
        results = queries.survey_results(self.survey)
        self.assertEqual(self.question(results, "why")["n"], 0)
        self.assertEqual(self.question(results, "again")["distribution"][0]["n"], 0)
        nps = results["nps"]
        self.assertEqual(
            (nps["promoters"], nps["passives"], nps["detractors"], nps["n"]), (5, 3, 2, 10)
        )
        self.assertAlmostEqual(nps["score"], 30.0)
        # By hand: 100 * sqrt((0.5 + 0.2 - 0.09) / 10) = 24.6982; 30 ± 1.96 * 24.6982.
        self.assertAlmostEqual(nps["low"], -18.4084, places=4)
        self.assertAlmostEqual(nps["high"], 78.4084, places=4)
        question = self.question(results, "nps")
        self.assertEqual(question["n"], 10)
        counts = {row["value"]: row["n"] for row in question["distribution"]}
        self.assertEqual(list(counts), list(range(11)))
        self.assertEqual(
            counts, {0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1, 7: 2, 8: 1, 9: 3, 10: 2}
        )
        self.assertAlmostEqual(question["nps"]["score"], 30.0)
        self.assertEqual(
            (results["complete"], results["responses"], results["partial"]), (10, 11, 1)
        )

    def test_it_gives_csat_top_2_box_with_wilson_and_ces_and_ratings_means(self):
        for score in [5, 5, 4, 4, 4, 5, 4, 5, 3, 1]:
            self.respond({"csat": score})
        for score in [1, 2, 3, 4, 5]:
            self.respond({"ces": score, "stars": score})
        results = queries.survey_results(self.survey)
        csat = self.question(results, "csat")
        self.assertEqual(csat["n"], 10)
        self.assertEqual(csat["top2box"]["successes"], 8)
        self.assertAlmostEqual(csat["top2box"]["share"], 0.8)
        self.assertAlmostEqual(csat["top2box"]["low"], 0.49016, places=5)
        self.assertAlmostEqual(csat["top2box"]["high"], 0.94332, places=5)
        self.assertEqual(results["csat"], csat["top2box"])
        self.assertEqual([row["n"] for row in csat["distribution"]], [1, 0, 1, 4, 4])
        ces = self.question(results, "ces")
        self.assertEqual([row["value"] for row in ces["distribution"]], [1, 2, 3, 4, 5, 6, 7])
        # mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764: 3 ± 1.9632.
        self.assertAlmostEqual(ces["mean"]["mean"], 3.0)
        self.assertAlmostEqual(ces["mean"]["low"], 1.03676, places=4)
        self.assertAlmostEqual(ces["mean"]["high"], 4.96324, places=4)
        self.assertEqual(results["ces"], ces["mean"])
        self.assertAlmostEqual(self.question(results, "stars")["mean"]["mean"], 3.0)
        # Fifteen complete responses, none with an NPS answer.
        self.assertEqual(results["nps"]["n"], 0)
        self.assertIsNone(results["nps"]["score"])

    def test_choices_and_yes_no_are_counted_with_labels_in_the_current_language(self):
        self.respond({"reason": "price", "why": ["late", "damaged"], "again": True})
        self.respond({"reason": "price", "why": ["late"], "again": False})
        self.respond({"reason": "service", "again": True})
        with translation.override("fr"):
            results = queries.survey_results(self.survey)
        reason = self.question(results, "reason")
        self.assertEqual(
            [(r["value"], r["label"], r["n"]) for r in reason["distribution"]],
            [("price", "Le prix", 2), ("service", "Le service", 1)],
        )
        why = self.question(results, "why")
        self.assertEqual(why["n"], 2)  # people who answered; a person may tick both
        self.assertEqual(
            [(r["label"], r["n"], r["share"]) for r in why["distribution"]],
            [("En retard", 2, 1.0), ("Abîmé", 1, 0.5)],
        )
        again = self.question(results, "again")
        self.assertEqual(
            [(r["value"], r["n"]) for r in again["distribution"]], [(True, 2), (False, 1)]
        )
        self.assertEqual(self.question(results, "nps")["text"], "Recommanderiez-vous ?")
        with translation.override("en"):
            results = queries.survey_results(self.survey)
        self.assertEqual(self.question(results, "why")["distribution"][0]["label"], "Late")
        self.assertEqual(self.question(results, "again")["distribution"][0]["label"], "Yes")

    def test_rates_count_invitations_sent_and_responses_completed(self):
        self.respond({"nps": 9}, seconds=60)
        self.respond({"nps": 3}, seconds=120)
        self.respond({"nps": 10}, seconds=600)
        self.respond({"comment": "half way"}, complete=False)
        services.invitation_create(survey=self.survey, channel="web")  # never answered
        blocked = services.invitation_create(survey=self.survey, channel="web")
        Invitation.objects.filter(pk=blocked.pk).update(blocked=True)  # the membrane said no
        results = queries.survey_results(self.survey)
        self.assertEqual(results["invitations"], 5)
        self.assertEqual(results["invitations_answered"], 4)
        self.assertEqual(results["invitations_completed"], 3)
        self.assertEqual((results["responses"], results["complete"], results["partial"]), (4, 3, 1))
        self.assertAlmostEqual(results["response_rate"], 4 / 5)
        self.assertAlmostEqual(results["completion_rate"], 3 / 4)
        self.assertEqual(results["median_seconds_to_complete"], 120)
        self.respond({"nps": 9}, seconds=300)
        results = queries.survey_results(self.survey)
        self.assertEqual(results["median_seconds_to_complete"], 210)  # (120 + 300) / 2

    def test_breakdowns_by_touchpoint_channel_and_month(self):
        self.answer_nps([10, 10, 0], touchpoint=self.delivery, channel="web", at=JAN)
        self.answer_nps([9, 5], touchpoint=self.store, channel="sms", at=FEB)
        self.respond({"csat": 5}, touchpoint=self.store, channel="sms", at=FEB)
        self.respond({"csat": 2}, touchpoint=self.store, channel="sms", at=FEB)
        with translation.override("fr"):
            results = queries.survey_results(self.survey)
        by_touchpoint = {row["label"]: row for row in results["by_touchpoint"]}
        self.assertEqual(set(by_touchpoint), {"Livraison", "Magasin"})
        delivery = by_touchpoint["Livraison"]
        self.assertEqual((delivery["n"], delivery["code"]), (3, "delivery"))
        self.assertAlmostEqual(delivery["nps"]["score"], 100 / 3)
        store = by_touchpoint["Magasin"]
        self.assertEqual((store["n"], store["nps"]["n"], store["nps"]["score"]), (4, 2, 0.0))
        self.assertEqual((store["csat"]["n"], store["csat"]["successes"]), (2, 1))
        self.assertEqual(delivery["csat"]["n"], 0)
        self.assertEqual(
            [(r["key"], r["n"]) for r in results["by_channel"]], [("sms", 4), ("web", 3)]
        )
        self.assertEqual(
            [(r["key"], r["n"]) for r in results["by_month"]],
            [(date(2025, 1, 1), 3), (date(2025, 2, 1), 4)],
        )
        self.assertAlmostEqual(results["by_month"][0]["nps"]["score"], 100 / 3)

    def test_filters_narrow_every_figure(self):
        self.answer_nps([10, 10, 0], touchpoint=self.delivery, channel="web", at=JAN)
        self.answer_nps([9, 5], touchpoint=self.store, channel="sms", at=FEB)
        by_store = queries.survey_results(self.survey, touchpoint_id=self.store.pk)
        self.assertEqual((by_store["complete"], by_store["nps"]["score"]), (2, 0.0))
        self.assertEqual(by_store["invitations"], 2)
        self.assertEqual(self.question(by_store, "nps")["n"], 2)
        by_web = queries.survey_results(self.survey, channel="web")
        self.assertEqual((by_web["complete"], by_web["invitations"]), (3, 3))
        february = queries.survey_results(self.survey, date_from=date(2025, 2, 1))
        self.assertEqual(february["complete"], 2)
        self.assertEqual([r["key"] for r in february["by_month"]], [date(2025, 2, 1)])
        january = queries.survey_results(self.survey, date_to=date(2025, 1, 15))  # whole day
        self.assertEqual(january["complete"], 3)
        self.assertEqual(self.question(january, "nps")["n"], 3)
        nothing = queries.survey_results(self.survey, date_from=date(2025, 3, 1))
        self.assertEqual((nothing["complete"], nothing["nps"]["score"]), (0, None))
        self.assertIsNone(nothing["completion_rate"])

    def test_results_take_a_handful_of_queries_whatever_the_volume(self):
        self.answer_nps([10, 3], at=JAN)
        with CaptureQueriesContext(connection) as few:
            queries.survey_results(queries.survey_get(self.survey.pk))
        self.answer_nps([9, 8, 7, 6, 5], touchpoint=self.store, at=FEB)
        for score in [1, 5]:
            self.respond({"csat": score, "why": ["late"], "comment": "x"}, channel="sms")
        with CaptureQueriesContext(connection) as more:
            queries.survey_results(queries.survey_get(self.survey.pk))
        self.assertEqual(len(few), len(more))
        # Survey, questions, invitations, responses, median, two GROUP BYs of answers, partial
        # answers taken off, CSAT by touchpoint, touchpoint names; on PostgreSQL also the
        # transaction's SET LOCAL work_mem (and its savepoint inside a test's transaction).
        self.assertLessEqual(len(more), 12 if connection.vendor == "postgresql" else 10)


class CommentsQueryTests(ResultsFixture, BaseTestCase):
    def setUp(self):
        self.make_survey()
        self.old = self.respond({"nps": 2, "comment": "Livreur en retard"}, at=JAN)
        self.new = self.respond(
            {"nps": 10, "comment": "Parfait"}, at=FEB, touchpoint=self.store, channel="sms"
        )
        self.respond({"nps": 9}, at=FEB)  # no comment
        self.respond({"comment": "pas fini"}, at=FEB, complete=False)

    def texts(self, **filters) -> list[str]:
        return [a.text for a in queries.survey_comments(self.survey, **filters)]

    def test_it_lists_comments_of_complete_responses_newest_first(self):
        self.assertEqual(self.texts(), ["Parfait", "Livreur en retard"])

    def test_it_filters_comments(self):
        self.assertEqual(self.texts(nps_category="detractor"), ["Livreur en retard"])
        self.assertEqual(self.texts(touchpoint_id=self.store.pk), ["Parfait"])
        self.assertEqual(self.texts(channel="web"), ["Livreur en retard"])
        self.assertEqual(self.texts(search="RETARD"), ["Livreur en retard"])
        self.assertEqual(self.texts(date_from=date(2025, 2, 1)), ["Parfait"])
        self.assertEqual(self.texts(date_to=date(2025, 1, 31)), ["Livreur en retard"])
        self.assertEqual(self.texts(question_key="comment"), ["Parfait", "Livreur en retard"])
        self.assertEqual(self.texts(question_key="nps"), [])

    def test_a_page_of_comments_costs_the_same_few_queries(self):
        for n in range(60):
            self.respond({"comment": f"c{n}"}, at=FEB + timedelta(minutes=n))
        survey = queries.survey_get(self.survey.pk)  # with its questions, as the pages load it
        with CaptureQueriesContext(connection) as captured:
            page = list(queries.survey_comments(survey)[:50])
            shown = [
                (a.response.customer.display_name, a.response.touchpoint.name, a.question.key)
                for a in page
            ]
        self.assertEqual(len(captured), 1)
        self.assertEqual(page[0].text, "c59")
        self.assertEqual(shown[0], ("Léa Roux", "Delivery", "comment"))


class ResultsPageTests(ResultsFixture, BaseTestCase):
    def setUp(self):
        self.make_survey()
        self.answer_nps([9, 10, 9, 10, 9, 7, 8, 7, 0, 6])
        self.evil = self.respond(
            {"nps": 1, "comment": '<script>alert("x")</script> =1+2'}, at=FEB, seconds=30
        )

    def get(self, user, name, params=None, **headers):
        self.client.force_login(user)
        return self.client.get(reverse(name, args=[self.survey.pk]), params or {}, headers=headers)

    def test_results_are_for_those_who_read_surveys(self):
        for user in (self.marketer, self.analyst, self.manager, self.agent):
            self.assertEqual(self.get(user, "feedback:results").status_code, 200)
        for user in (self.auditor, self.outsider):
            self.assertEqual(self.get(user, "feedback:results").status_code, 403)
        self.client.logout()
        response = self.client.get(reverse("feedback:results", args=[self.survey.pk]))
        self.assertEqual(response.status_code, 302)
        self.client.force_login(self.manager)
        self.assertEqual(self.client.get("/surveys/999999/results/").status_code, 404)

    def test_the_results_page_shows_headline_figures_with_their_intervals(self):
        Response.objects.filter(pk=self.evil.pk).delete()
        response = self.get(self.manager, "feedback:results")
        self.assertContains(response, "NPS 30 (95 % CI -18 to 78)")
        self.assertContains(response, 'data-chart="bar"')
        self.assertContains(response, 'id="q-nps-data"')
        self.assertContains(response, '<th scope="row">Delivery</th>', html=False)
        self.assertContains(response, "echarts.min.js")
        # The figures as a table too, for screen readers.
        self.assertContains(response, "The figures as a table")

    def test_the_results_page_costs_the_same_queries_whatever_the_volume(self):
        self.client.force_login(self.manager)
        url = reverse("feedback:results", args=[self.survey.pk])
        with CaptureQueriesContext(connection) as few:
            self.client.get(url)
        for score in range(1, 6):
            self.respond({"nps": score, "csat": score, "why": ["late"]}, touchpoint=self.store)
        with CaptureQueriesContext(connection) as more:
            response = self.client.get(url)
        self.assertEqual(response.context["results"]["complete"], 16)
        self.assertEqual(len(few), len(more))

    def test_numbers_follow_the_readers_language(self):
        self.respond({"ces": 2})
        self.respond({"ces": 3})
        self.client.force_login(self.manager)
        response = self.client.get(
            reverse("feedback:results", args=[self.survey.pk]), headers={"accept-language": "fr"}
        )
        self.assertContains(response, "2,50")  # CES mean, with a decimal comma

    def test_filters_are_applied_and_a_bad_period_is_explained(self):
        response = self.get(self.manager, "feedback:results", {"date_from": "2025-02-01"})
        self.assertEqual(response.context["results"]["complete"], 1)
        response = self.get(
            self.manager, "feedback:results", {"date_from": "2025-03-01", "date_to": "2025-02-01"}
        )
        self.assertIsNone(response.context["results"])
        self.assertTrue(response.context["form"].errors["date_to"])
        response = self.get(self.manager, "feedback:results", {"channel": "pigeon"})
        self.assertIsNone(response.context["results"])

    def test_marketers_see_results_but_not_comments(self):
        results_page = self.get(self.marketer, "feedback:results")
        self.assertNotContains(results_page, reverse("feedback:comments", args=[self.survey.pk]))
        self.assertEqual(self.get(self.marketer, "feedback:comments").status_code, 403)
        self.assertEqual(self.get(self.auditor, "feedback:comments").status_code, 403)

    def test_comments_are_escaped_and_names_shown_only_to_those_allowed(self):
        analyst = self.get(self.analyst, "feedback:comments")
        self.assertEqual(analyst.status_code, 200)
        self.assertContains(analyst, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
        self.assertNotContains(analyst, '<script>alert("x")</script>')
        self.assertNotContains(analyst, "Léa Roux")
        self.assertNotContains(analyst, reverse("customers:detail", args=[self.customer.pk]))
        self.assertFalse(
            AuditEntry.objects.filter(action="view", target__startswith="survey_").exists()
        )
        manager = self.get(self.manager, "feedback:comments")
        self.assertContains(manager, "Léa Roux")
        self.assertContains(manager, reverse("customers:detail", args=[self.customer.pk]))
        self.assertNotContains(manager, '<script>alert("x")</script>')
        entry = AuditEntry.objects.get(action="view", target=f"survey_comments:{self.survey.pk}")
        self.assertEqual(entry.actor, self.manager)

    def test_comments_are_filtered_paged_and_swapped_by_htmx(self):
        for n in range(55):
            self.respond({"nps": 9, "comment": f"merci {n}"}, at=FEB + timedelta(minutes=n))
        response = self.get(self.analyst, "feedback:comments")
        self.assertEqual(response.context["page"].paginator.count, 56)
        self.assertEqual(len(response.context["page"].object_list), 50)
        page_two = self.get(self.analyst, "feedback:comments", {"page": 2})
        self.assertEqual(len(page_two.context["page"].object_list), 6)
        filtered = self.get(self.analyst, "feedback:comments", {"nps_category": "detractor"})
        self.assertEqual(filtered.context["page"].paginator.count, 1)
        fragment = self.get(
            self.analyst, "feedback:comments", {"q": "merci 54"}, **{"HX-Request": "true"}
        )
        self.assertNotContains(fragment, "<html")
        self.assertContains(fragment, "merci 54")
        self.assertEqual(fragment.context["page"].paginator.count, 1)

    def test_a_page_of_comments_costs_the_same_whatever_its_length(self):
        self.client.force_login(self.manager)
        url = reverse("feedback:comments", args=[self.survey.pk])
        with CaptureQueriesContext(connection) as few:
            self.client.get(url)
        for n in range(49):
            self.respond({"comment": f"c{n}"}, customer=make_customer(f"P{n}", "Doe"))
        with CaptureQueriesContext(connection) as full:
            response = self.client.get(url)
        self.assertEqual(len(response.context["page"].object_list), 50)
        self.assertEqual(len(few), len(full))


class ResultsApiTests(ResultsFixture, BaseTestCase):
    def setUp(self):
        self.make_survey()
        self.answer_nps([9, 10, 9, 10, 9, 7, 8, 7, 0, 6])
        self.respond({"nps": 3, "comment": '=HYPERLINK("http://evil")'}, at=FEB, channel="sms")

    def call(self, user, path, **params):
        _token, secret = api_token_create(actor=Actor(user=user), name="t", scope="read")
        return self.client.get(path, params, headers={"Authorization": f"Bearer {secret}"})

    def url(self, tail):
        return f"/api/surveys/{self.survey.pk}/{tail}"

    def test_results_with_their_intervals_and_filters(self):
        body = self.call(self.marketer, self.url("results")).json()
        self.assertEqual(body["complete"], 11)
        january = self.call(self.marketer, self.url("results"), date_to="2025-01-31").json()
        self.assertEqual(january["nps"]["n"], 10)
        self.assertAlmostEqual(january["nps"]["score"], 30.0)
        self.assertAlmostEqual(january["nps"]["low"], -18.4084, places=4)
        self.assertEqual(january["by_month"][0]["key"], "2025-01-01")
        by_sms = self.call(self.marketer, self.url("results"), channel="sms").json()
        self.assertEqual(by_sms["complete"], 1)
        by_delivery = self.call(self.marketer, self.url("results"), touchpoint="delivery").json()
        self.assertEqual(by_delivery["complete"], 11)
        self.assertEqual(self.call(self.auditor, self.url("results")).status_code, 403)
        self.assertEqual(self.call(self.manager, "/api/surveys/999999/results").status_code, 404)

    def test_bad_parameters_are_named(self):
        response = self.call(self.manager, self.url("results"), channel="pigeon")
        self.assertEqual(response.status_code, 422)
        error = response.json()["error"]
        self.assertEqual(error["field"], "channel")
        self.assertIn("pigeon", error["message"])
        self.assertIn("web", error["message"])
        response = self.call(
            self.manager, self.url("results"), date_from="2025-03-01", date_to="2025-02-01"
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["field"], "date_from")
        response = self.call(self.manager, self.url("results"), date_from="yesterday")
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["field"], "date_from")
        response = self.call(self.manager, self.url("results"), touchpoint="nowhere")
        self.assertEqual(
            (response.status_code, response.json()["error"]["field"]), (422, "touchpoint")
        )
        for params, field in [
            ({"question": "nps"}, "question"),
            ({"nps_category": "fan"}, "nps_category"),
            ({"limit": 0}, "limit"),
            ({"offset": -1}, "offset"),
            ({"channel": "pigeon"}, "channel"),
        ]:
            response = self.call(self.manager, self.url("comments"), **params)
            self.assertEqual(response.status_code, 422, params)
            self.assertEqual(response.json()["error"]["field"], field)

    def test_comments_need_the_right_to_read_responses_and_names_need_more(self):
        self.assertEqual(self.call(self.marketer, self.url("comments")).status_code, 403)
        analyst = self.call(self.analyst, self.url("comments")).json()
        self.assertEqual(analyst["items"][0]["text"], '=HYPERLINK("http://evil")')
        self.assertNotIn("customer", analyst["items"][0])
        manager = self.call(self.manager, self.url("comments")).json()
        self.assertEqual(manager["items"][0]["customer"], self.customer.reference)
        self.assertEqual(manager["items"][0]["nps_category"], "detractor")

    def test_comments_are_paged_by_offset(self):
        for n in range(3):
            self.respond({"comment": f"c{n}"}, at=FEB + timedelta(minutes=n + 1))
        first = self.call(self.analyst, self.url("comments"), limit=2).json()
        self.assertEqual([i["text"] for i in first["items"]], ["c2", "c1"])
        self.assertEqual(first["next_offset"], 2)
        second = self.call(self.analyst, self.url("comments"), limit=2, offset=2).json()
        self.assertEqual([i["text"] for i in second["items"]], ["c0", '=HYPERLINK("http://evil")'])
        self.assertIsNone(second["next_offset"])
        only = self.call(self.analyst, self.url("comments"), search="c1").json()
        self.assertEqual([i["text"] for i in only["items"]], ["c1"])

    def test_the_csv_export_is_streamed_formula_safe_and_audited(self):
        self.assertEqual(self.call(self.marketer, self.url("export.csv")).status_code, 403)
        response = self.call(self.analyst, self.url("export.csv"))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        text = b"".join(response.streaming_content).decode()
        self.assertIn('\'=HYPERLINK(""http://evil"")', text)
        self.assertNotIn("customer", text.splitlines()[0])
        self.assertEqual(len(text.strip().splitlines()), 12)
        entry = AuditEntry.objects.get(action="export", target=f"survey:{self.survey.pk}")
        self.assertEqual(
            (entry.actor, entry.via, entry.changes["customer"]), (self.analyst, "api", False)
        )
        manager = b"".join(self.call(self.manager, self.url("export.csv")).streaming_content)
        self.assertIn(self.customer.reference, manager.decode())
        bad = self.call(self.manager, self.url("export.csv"), channel="pigeon")
        self.assertEqual(bad.status_code, 422)

    def test_results_json_lists_every_documented_key(self):
        body = self.call(self.manager, self.url("results")).json()
        self.assertLessEqual(
            {
                "invitations",
                "responses",
                "complete",
                "response_rate",
                "completion_rate",
                "median_seconds_to_complete",
                "nps",
                "csat",
                "ces",
                "questions",
                "by_touchpoint",
                "by_channel",
                "by_month",
            },
            set(body),
        )
        json.dumps(body)
