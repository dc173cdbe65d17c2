"""Reading texts through the API, the taxonomy's endpoints, and the readings shown and filtered
on the survey comments (page and API) and on the customer's timeline."""

from __future__ import annotations

import json

from cxcore.api.services import api_token_create
from cxcore.customers.tests.factories import make_customer
from cxcore.lib.actor import Actor
from cxcore.text import engine, queries, services
from cxcore.text.models import TextAnalysis, Topic
from cxcore.text.tests.test_services import (
    ACTOR,
    NEGATIVE_FR,
    POSITIVE_EN,
    SCOOTER_FR,
    TextTestCase,
    answer_survey,
    comment_of,
    note_interaction,
    survey_with_comment,
)

SCOOTER = {
    "code": "product.scooter",
    "name_en": "Scooters",
    "name_fr": "Trottinettes",
    "terms_fr": ["trottinette"],
    "terms_en": ["scooter"],
}


class ApiTestCase(TextTestCase):
    def call(self, user, method: str, path: str, body=None, *, scope: str = "write", **params):
        _token, secret = api_token_create(actor=Actor(user=user), name="t", scope=scope)
        headers = {"Authorization": f"Bearer {secret}"}
        if method == "get":
            return self.client.get(path, params, headers=headers)
        return getattr(self.client, method)(
            path,
            json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers=headers,
        )

    def refusal(self, response, status: int = 422) -> dict:
        self.assertEqual(response.status_code, status, response.content)
        return response.json()["error"]


class AnalyseApiTests(ApiTestCase):
    def analyse(self, body, user=None):
        return self.call(user or self.analyst, "post", "/api/text/analyse", body)

    def test_it_reads_one_text(self):
        response = self.analyse({"text": NEGATIVE_FR})
        self.assertEqual(response.status_code, 200)
        body = response.json()
        expected = engine.analyse(NEGATIVE_FR, matcher=queries.current_matcher())
        self.assertEqual((body["language"], body["sentiment"]), ("fr", "negative"))
        self.assertAlmostEqual(body["score"], expected.score, places=6)
        self.assertEqual([t["code"] for t in body["topics"]], list(expected.topic_codes))
        names = queries.topic_names()
        for topic, match in zip(body["topics"], expected.topics, strict=True):
            self.assertEqual(topic["name"], names[match.code])
            self.assertEqual(topic["words"], list(match.words))
        self.assertEqual(body["complaints"], list(expected.complaints))
        self.assertEqual(body["flags"], [])
        self.assertEqual(body["model"], engine.default_model().version)
        self.assertFalse(TextAnalysis.objects.exists())  # nothing stored

    def test_it_reads_many_texts_in_order_with_the_companys_own_topics(self):
        services.topic_create(actor=ACTOR, data=SCOOTER)
        response = self.analyse({"texts": [POSITIVE_EN, SCOOTER_FR, "x" * 6000 + " merci"]})
        self.assertEqual(response.status_code, 200)
        items = response.json()["items"]
        self.assertEqual([i["language"] for i in items[:2]], ["en", "fr"])
        self.assertEqual(items[0]["sentiment"], "positive")
        self.assertIn(
            {"code": "product.scooter", "name": "Scooters", "words": ["trottinette"]},
            items[1]["topics"],
        )
        self.assertIn("truncated", items[2]["flags"])

    def test_every_bad_request_names_its_field_and_reason(self):
        cases = [
            ({}, "text", "required"),
            ({"text": 42}, "text", "invalid_type"),
            ({"text": None}, "text", "invalid_type"),
            ({"text": ""}, "text", "empty"),
            ({"text": "   \n\t "}, "text", "empty"),
            ({"text": "<p> </p>"}, "text", "empty"),
            ({"text": "\x00\x01\x02\x03\x04\x05\x06\x07\x08" * 20}, "text", "binary"),
            ({"texts": "one"}, "texts", "invalid"),
            ({"texts": []}, "texts", "invalid"),
            ({"texts": ["fine", "also fine", 3]}, "texts.2", "invalid_type"),
            ({"texts": ["fine", ""]}, "texts.1", "empty"),
            ({"texts": ["fine"] * 1001}, "texts", "too_many"),
            ({"text": "a", "texts": ["b"]}, "texts", "invalid"),
        ]
        for body, field, code in cases:
            with self.subTest(body=str(body)[:60]):
                error = self.refusal(self.analyse(body))
                self.assertEqual((error["field"], error["code"]), (field, code))
                self.assertTrue(error["message"])
        error = self.refusal(self.analyse(["not", "an", "object"]))
        self.assertEqual(error["field"], "text")

    def test_a_thousand_texts_are_fine(self):
        response = self.analyse({"texts": [POSITIVE_EN] * 1000})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.json()["items"]), 1000)

    def test_only_roles_that_analyse_may_call_it(self):
        self.assertEqual(self.analyse({"text": POSITIVE_EN}, self.manager).status_code, 200)
        self.assertEqual(self.analyse({"text": POSITIVE_EN}, self.admin).status_code, 200)
        for user in (self.agent, self.marketer, self.auditor, self.outsider):
            with self.subTest(user=user.username):
                self.assertEqual(
                    self.refusal(self.analyse({"text": "x"}, user), 403)["code"], "forbidden"
                )
        anonymous = self.client.post(
            "/api/text/analyse", {"text": "x"}, content_type="application/json"
        )
        self.assertEqual(anonymous.status_code, 401)
        # Nothing is written: a read-only token may read texts.
        read_only = self.call(
            self.analyst, "post", "/api/text/analyse", {"text": POSITIVE_EN}, scope="read"
        )
        self.assertEqual(read_only.status_code, 200)


class TopicsApiTests(ApiTestCase):
    def test_it_answers_the_taxonomy_as_a_tree(self):
        parent = Topic.objects.filter(parent__isnull=True).order_by("position", "code").first()
        services.topic_create(actor=ACTOR, data={**SCOOTER, "parent": parent.code})
        response = self.call(self.marketer, "get", "/api/text/topics")
        self.assertEqual(response.status_code, 200)
        items = response.json()["items"]
        self.assertEqual(items[0]["code"], parent.code)
        node = next(n for n in items[0]["children"] if n["code"] == "product.scooter")
        self.assertEqual(node["terms"], {"en": ["scooter"], "fr": ["trottinette"]})
        self.assertEqual(
            (node["name_en"], node["name_fr"], node["active"]), ("Scooters", "Trottinettes", True)
        )
        self.assertEqual(self.call(self.auditor, "get", "/api/text/topics").status_code, 403)

    def test_analysts_shape_the_taxonomy_and_managers_only_read_it(self):
        created = self.call(self.analyst, "post", "/api/text/topics", SCOOTER)
        self.assertEqual(created.status_code, 201, created.content)
        self.assertEqual(created.json()["code"], "product.scooter")
        changed = self.call(
            self.analyst, "patch", "/api/text/topics/product.scooter", {"active": False}
        )
        self.assertEqual(changed.json()["active"], False)
        self.assertEqual(changed.json()["terms"]["fr"], ["trottinette"])
        for user in (self.manager, self.agent, self.marketer):
            with self.subTest(user=user.username):
                self.refusal(
                    self.call(user, "patch", "/api/text/topics/product.scooter", {"position": 3}),
                    403,
                )
        self.refusal(
            self.call(self.analyst, "delete", "/api/text/topics/product.scooter", scope="read"),
            403,
        )
        deleted = self.call(self.analyst, "delete", "/api/text/topics/product.scooter")
        self.assertEqual(deleted.json(), {"deleted": 1})
        self.refusal(self.call(self.analyst, "delete", "/api/text/topics/product.scooter"), 404)

    def test_a_refused_topic_names_its_field(self):
        error = self.refusal(
            self.call(self.analyst, "post", "/api/text/topics", {**SCOOTER, "terms_fr": ["ok", ""]})
        )
        self.assertEqual(error["field"], "terms_fr.1")
        error = self.refusal(
            self.call(
                self.analyst,
                "post",
                "/api/text/topics",
                {**SCOOTER, "exclusions_en": ["Scooter"]},
            )
        )
        self.assertEqual(error["field"], "exclusions_en")
        self.assertIn("Scooter", error["message"])
        self.assertFalse(Topic.objects.filter(code="product.scooter").exists())


class CommentsTests(ApiTestCase):
    """The survey's comments, with their readings: page and API, shown and filtered."""

    def setUp(self):
        super().setUp()
        services.topic_create(actor=ACTOR, data=SCOOTER)
        self.survey = survey_with_comment()
        self.angry = comment_of(answer_survey(self.survey, NEGATIVE_FR))
        self.scooter = comment_of(answer_survey(self.survey, SCOOTER_FR))
        self.happy = comment_of(answer_survey(self.survey, POSITIVE_EN, nps=10))
        self.unread = comment_of(answer_survey(self.survey, "Pas encore lu"))
        services.analyses_store_for_answers([self.angry.pk, self.scooter.pk, self.happy.pk])

    def comments_api(self, **params):
        response = self.call(
            self.analyst, "get", f"/api/surveys/{self.survey.pk}/comments", **params
        )
        self.assertEqual(response.status_code, 200, response.content)
        return {item["id"]: item for item in response.json()["items"]}

    def test_the_api_gives_each_comment_its_reading(self):
        items = self.comments_api()
        self.assertEqual(items[self.happy.pk]["sentiment"], "positive")
        self.assertGreater(items[self.happy.pk]["score"], 0)
        self.assertIn(
            {"code": "product.scooter", "name": "Scooters"}, items[self.scooter.pk]["topics"]
        )
        unread = items[self.unread.pk]
        self.assertEqual((unread["sentiment"], unread["score"], unread["topics"]), (None, None, []))

    def test_the_api_filters_by_sentiment_and_topic(self):
        self.assertEqual(set(self.comments_api(sentiment="positive")), {self.happy.pk})
        self.assertEqual(
            set(self.comments_api(sentiment="negative")), {self.angry.pk, self.scooter.pk}
        )
        self.assertEqual(set(self.comments_api(topic="product.scooter")), {self.scooter.pk})
        self.assertEqual(
            set(self.comments_api(topic="product.scooter", sentiment="positive")), set()
        )
        for params, field in [
            ({"sentiment": "furious"}, "sentiment"),
            ({"topic": "nope"}, "topic"),
        ]:
            error = self.refusal(
                self.call(self.analyst, "get", f"/api/surveys/{self.survey.pk}/comments", **params)
            )
            self.assertEqual(error["field"], field)

    def test_a_topic_filter_takes_in_its_sub_topics(self):
        services.topic_create(
            actor=ACTOR,
            data={
                "code": "product.scooter.fault",
                "parent": "product.scooter",
                "name_en": "Faults",
                "name_fr": "Pannes",
                "terms_fr": ["en panne"],
            },
        )
        services.topic_update(
            actor=ACTOR,
            topic=Topic.objects.get(code="product.scooter"),
            data={"terms_fr": ["engin"]},
        )
        services.analyses_store_for_answers([self.scooter.pk])
        self.assertIn(
            "product.scooter.fault", TextAnalysis.objects.get(answer=self.scooter).topic_codes
        )
        self.assertEqual(set(self.comments_api(topic="product.scooter")), {self.scooter.pk})
        self.assertEqual(set(self.comments_api(topic="product.scooter.fault")), {self.scooter.pk})

    def test_the_page_shows_sentiment_in_words_and_topic_names_and_filters(self):
        self.client.force_login(self.analyst)
        url = f"/surveys/{self.survey.pk}/comments/"
        page = self.client.get(url)
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, '<span class="badge sentiment positive"', count=1)
        self.assertContains(page, ">Positive</span>")
        self.assertContains(page, ">Negative</span>", count=2)
        self.assertContains(page, "Scooters")
        self.assertContains(page, '<select name="sentiment"')
        self.assertContains(page, '<option value="product.scooter">')
        negative = self.client.get(url, {"sentiment": "negative"})
        self.assertEqual(
            {answer.pk for answer, _reading in negative.context["comments"]},
            {self.angry.pk, self.scooter.pk},
        )
        by_topic = self.client.get(
            url, {"topic": "product.scooter"}, headers={"HX-Request": "true"}
        )
        self.assertEqual(
            [answer.pk for answer, _reading in by_topic.context["comments"]], [self.scooter.pk]
        )
        self.assertEqual(self.client.get(url, {"sentiment": "furious"}).context["page"], None)


class TimelineTests(TextTestCase):
    def setUp(self):
        super().setUp()
        services.topic_create(actor=ACTOR, data=SCOOTER)
        self.customer = make_customer("Camille", "Martin")
        self.angry_note = note_interaction(self.customer, NEGATIVE_FR, hours_ago=5)
        self.scooter_note = note_interaction(self.customer, SCOOTER_FR, hours_ago=4)
        self.quiet = note_interaction(self.customer, "", hours_ago=3)
        survey = survey_with_comment()
        self.happy_response = answer_survey(survey, POSITIVE_EN, customer=self.customer, nps=10)
        services.analyses_store_all()
        self.client.force_login(self.agent)

    def timeline(self, **params):
        response = self.client.get(f"/customers/{self.customer.pk}/", params)
        self.assertEqual(response.status_code, 200)
        return response

    def test_notes_and_comments_show_their_reading(self):
        response = self.timeline()
        self.assertContains(response, '<span class="badge sentiment negative"', count=2)
        self.assertContains(response, '<span class="badge sentiment positive"', count=1)
        self.assertContains(response, "Scooters")
        events = {e.object.pk: e for e in response.context["timeline"] if e.kind == "interaction"}
        self.assertEqual(events[self.quiet.pk].annotations, [])
        self.assertEqual(events[self.angry_note.pk].annotations[0]["sentiment"], "negative")

    def test_the_timeline_narrows_to_a_sentiment_or_a_topic(self):
        negative = self.timeline(sentiment="negative")
        self.assertEqual(
            [(e.kind, e.object.pk) for e in negative.context["timeline"]],
            [("interaction", self.scooter_note.pk), ("interaction", self.angry_note.pk)],
        )
        positive = self.timeline(sentiment="positive")
        self.assertEqual(
            [(e.kind, e.object.pk) for e in positive.context["timeline"]],
            [("response", self.happy_response.pk)],
        )
        topic = self.timeline(topic="product.scooter")
        self.assertEqual([e.object.pk for e in topic.context["timeline"]], [self.scooter_note.pk])
        self.assertContains(topic, '<option value="product.scooter" selected>')
        nothing = self.timeline(topic="no-such-topic")
        self.assertEqual(nothing.context["timeline"], [])
        self.assertContains(nothing, "No event matches.")

    def test_the_timeline_api_narrows_and_annotates(self):
        url = f"/api/customers/{self.customer.pk}/timeline"
        everything = self.client.get(url).json()["events"]
        readings = {
            e["interaction_id"]: e.get("annotations") for e in everything if "interaction_id" in e
        }
        self.assertIsNone(readings[self.quiet.pk])
        angry = readings[self.angry_note.pk][0]
        self.assertEqual(angry["sentiment"], "negative")
        self.assertNotIn("complaints", angry)  # the timeline's answer carries no texts
        negative = self.client.get(url, {"sentiment": "negative"}).json()["events"]
        self.assertEqual(
            [e["interaction_id"] for e in negative], [self.scooter_note.pk, self.angry_note.pk]
        )
        topic = self.client.get(url, {"topic": "product.scooter"}).json()["events"]
        self.assertEqual([e["interaction_id"] for e in topic], [self.scooter_note.pk])
        refused = self.client.get(url, {"sentiment": "furious"})
        self.assertEqual(refused.status_code, 422)
        self.assertEqual(refused.json()["error"]["field"], "sentiment")
        self.assertIn("negative", refused.json()["error"]["message"])
        self.assertEqual(self.client.get(url, {"topic": "no-such-topic"}).status_code, 422)

    def test_older_pages_keep_the_filters(self):
        touchpoint = self.angry_note.touchpoint
        for n in range(55):
            note_interaction(
                self.customer, f"{NEGATIVE_FR} {n}", touchpoint=touchpoint, hours_ago=24 + n
            )
        services.analyses_store_all()
        first = self.timeline(sentiment="negative")
        self.assertEqual(len(first.context["timeline"]), 50)
        self.assertContains(first, "&amp;sentiment=negative")
        older = self.client.get(
            f"/customers/{self.customer.pk}/",
            {"before": first.context["timeline_older"].isoformat(), "sentiment": "negative"},
            headers={"HX-Request": "true"},
        )
        events = older.context["timeline"]
        self.assertEqual(len(events), 57 - 50)
        self.assertEqual({e.object.text_analysis.sentiment for e in events}, {"negative"})
