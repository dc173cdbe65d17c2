"""Readings stored with comments and notes, in batches, replays changing nothing; the taxonomy
that people edit, checked and audited; a CSV file of texts read and written back."""

from __future__ import annotations

import io
from datetime import timedelta
from unittest import mock

from django.core.exceptions import ValidationError
from django.utils import timezone

from cxcore.customers.models import AuditEntry
from cxcore.customers.tests.factories import make_customer
from cxcore.feedback import services as feedback_services
from cxcore.feedback.models import Answer
from cxcore.interactions.tests.factories import make_interaction, make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.test import BaseTestCase
from cxcore.text import engine, queries, services
from cxcore.text.models import SentimentModel, TextAnalysis, TextTopic, Topic

ACTOR = Actor(via="test")
NEGATIVE_FR = "Livraison en retard de deux semaines, colis abîmé. Très déçue, service nul."
POSITIVE_EN = "Wonderful service, the staff were lovely and helpful. Thank you so much!"
# A word no seed topic knows, for topics the tests make themselves.
SCOOTER_FR = "Trottinette en panne au bout de deux jours. Nul, très déçu, je ne recommande pas."


def survey_with_comment(touchpoint_code: str = "text-delivery"):
    """An open survey asking a score and a free-text comment."""
    if not Topic.objects.exists():  # pragma: no cover - the seed migration always ran
        raise AssertionError("the seed taxonomy is missing")
    make_touchpoint(touchpoint_code)
    survey = feedback_services.survey_create(
        actor=ACTOR,
        data={
            "name": "After delivery",
            "kind": "transactional",
            "touchpoint": touchpoint_code,
            "title_fr": "Votre livraison",
            "title_en": "Your delivery",
            "questions": [
                {"key": "nps", "type": "nps", "text_fr": "Note ?", "text_en": "Score?"},
                {"key": "comment", "type": "text", "text_fr": "Pourquoi ?", "text_en": "Why?"},
                {
                    "key": "again",
                    "type": "yes_no",
                    "text_fr": "Encore ?",
                    "text_en": "Again?",
                },
            ],
        },
    )
    return feedback_services.survey_open(actor=ACTOR, survey=survey)


def answer_survey(survey, comment: str | None, *, customer=None, nps: int = 3):
    """A complete response of `customer` (a new one if None), with `comment` if given."""
    customer = customer or make_customer("Léa", "Roux")
    invitation = feedback_services.invitation_create(
        survey=survey, channel="web", customer=customer
    )
    answers = {"nps": nps, "again": False}
    if comment is not None:
        answers["comment"] = comment
    return feedback_services.response_submit(token=invitation.token, answers=answers, complete=True)


def comment_of(response) -> Answer:
    return response.answers.get(question__key="comment")


def note_interaction(customer, note: str, *, touchpoint=None, hours_ago: int = 1):
    touchpoint = touchpoint or make_touchpoint(f"tp-{timezone.now().timestamp()}")
    return make_interaction(
        customer, touchpoint, timezone.now() - timedelta(hours=hours_ago), note=note
    )


class TextTestCase(BaseTestCase):
    """Each test starts from the taxonomy and model of its own database, not a neighbour's."""

    def setUp(self):
        super().setUp()
        queries.caches_clear()
        self.addCleanup(queries.caches_clear)


class StoringReadingsTests(TextTestCase):
    def setUp(self):
        super().setUp()
        self.survey = survey_with_comment()

    def test_it_reads_comments_of_free_text_questions_and_stores_the_reading(self):
        response = answer_survey(self.survey, NEGATIVE_FR)
        other_answers = list(response.answers.exclude(question__key="comment"))

        counts = services.analyses_store_for_answers(
            [a.pk for a in response.answers.all()] + [999_999]
        )

        self.assertEqual(counts, {"analysed": 1, "unchanged": 0, "removed": 0})
        analysis = TextAnalysis.objects.get()
        expected = engine.analyse(
            NEGATIVE_FR, matcher=queries.current_matcher(), model=queries.active_model()
        )
        self.assertEqual(analysis.answer, comment_of(response))
        self.assertIsNone(analysis.interaction)
        self.assertEqual((analysis.language, analysis.sentiment), ("fr", "negative"))
        self.assertEqual(analysis.sentiment, expected.sentiment)
        self.assertAlmostEqual(analysis.score, expected.score, places=6)
        self.assertEqual(analysis.topic_codes, list(expected.topic_codes))
        self.assertEqual(analysis.complaints, list(expected.complaints))
        self.assertEqual(analysis.model, queries.active_model().version)
        self.assertEqual(analysis.taxonomy, queries.current_matcher().version)
        self.assertEqual(analysis.text_hash, services.text_hash(NEGATIVE_FR))
        self.assertTrue(expected.topics, "the seed taxonomy knows late deliveries")
        self.assertEqual(
            sorted(analysis.topics.values_list("topic__code", flat=True)),
            sorted(expected.topic_codes),
        )
        first = expected.topics[0]
        self.assertEqual(analysis.topics.get(topic__code=first.code).words, list(first.words))
        for answer in other_answers:
            self.assertFalse(TextAnalysis.objects.filter(answer=answer).exists())

    def test_a_replay_changes_nothing(self):
        response = answer_survey(self.survey, NEGATIVE_FR)
        ids = [comment_of(response).pk]
        services.analyses_store_for_answers(ids)
        before = TextAnalysis.objects.values().get()
        topics = list(TextTopic.objects.values())

        with mock.patch.object(engine, "analyse_batch", wraps=engine.analyse_batch) as spied:
            counts = services.analyses_store_for_answers(ids + ids)

        self.assertEqual(counts, {"analysed": 0, "unchanged": 1, "removed": 0})
        spied.assert_not_called()
        self.assertEqual(TextAnalysis.objects.values().get(), before)
        self.assertEqual(list(TextTopic.objects.values()), topics)

    def test_a_changed_text_is_read_again_in_place(self):
        answer = comment_of(answer_survey(self.survey, NEGATIVE_FR))
        services.analyses_store_for_answers([answer.pk])
        first = TextAnalysis.objects.get()
        Answer.objects.filter(pk=answer.pk).update(text=POSITIVE_EN)

        counts = services.analyses_store_for_answers([answer.pk])

        self.assertEqual(counts["analysed"], 1)
        again = TextAnalysis.objects.get()
        self.assertEqual(again.pk, first.pk)
        self.assertEqual((again.language, again.sentiment), ("en", "positive"))
        self.assertEqual(again.text_hash, services.text_hash(POSITIVE_EN))
        self.assertEqual(
            list(again.topics.values_list("topic__code", flat=True)), again.topic_codes
        )

    def test_a_text_blanked_since_loses_its_reading(self):
        answer = comment_of(answer_survey(self.survey, NEGATIVE_FR))
        services.analyses_store_for_answers([answer.pk])
        Answer.objects.filter(pk=answer.pk).update(text="   ")

        counts = services.analyses_store_for_answers([answer.pk])

        self.assertEqual(counts, {"analysed": 0, "unchanged": 0, "removed": 1})
        self.assertFalse(TextAnalysis.objects.exists())
        self.assertFalse(TextTopic.objects.exists())

    def test_a_deleted_comment_takes_its_reading_with_it(self):
        response = answer_survey(self.survey, NEGATIVE_FR)
        services.analyses_store_for_answers([comment_of(response).pk])
        response.answers.all().delete()
        self.assertFalse(TextAnalysis.objects.exists())

    def test_it_reads_notes_of_interactions_not_blank_ones(self):
        customer = make_customer("Paul", "Martin")
        with_note = note_interaction(customer, POSITIVE_EN)
        without = note_interaction(customer, "")

        counts = services.analyses_store_for_interactions([with_note.pk, without.pk])

        self.assertEqual(counts["analysed"], 1)
        analysis = TextAnalysis.objects.get()
        self.assertEqual(analysis.interaction, with_note)
        self.assertEqual(analysis.sentiment, "positive")
        self.assertEqual(with_note.text_analysis, analysis)

    def test_it_reads_many_texts_in_batches_with_one_engine_call_each(self):
        customer = make_customer("Paul", "Martin")
        touchpoint = make_touchpoint("batch")
        ids = [
            note_interaction(customer, f"{NEGATIVE_FR} ({n})", touchpoint=touchpoint).pk
            for n in range(7)
        ]
        with (
            mock.patch.object(services, "BATCH_SIZE", 3),
            mock.patch.object(engine, "analyse_batch", wraps=engine.analyse_batch) as spied,
        ):
            counts = services.analyses_store_for_interactions(ids)

        self.assertEqual(counts["analysed"], 7)
        self.assertEqual([len(call.args[0]) for call in spied.call_args_list], [3, 3, 1])
        self.assertEqual(TextAnalysis.objects.filter(sentiment="negative").count(), 7)

    def test_a_new_active_model_has_every_text_read_again(self):
        answer = comment_of(answer_survey(self.survey, NEGATIVE_FR))
        services.analyses_store_for_answers([answer.pk])
        artefact = engine.default_model().to_artefact()
        artefact["version"] = "company-adapted-1"
        SentimentModel.objects.create(version="company-adapted-1", artefact=artefact, active=True)
        queries.caches_clear()

        counts = services.analyses_store_for_answers([answer.pk])

        self.assertEqual(counts["analysed"], 1)
        self.assertEqual(TextAnalysis.objects.get().model, "company-adapted-1")

    def test_an_active_model_that_cannot_be_loaded_leaves_the_default_reading(self):
        SentimentModel.objects.create(version="broken", artefact={"nonsense": 1}, active=True)
        with self.assertLogs("cxcore.text.queries", "ERROR"):
            model = queries.active_model()
        self.assertEqual(model.version, engine.default_model().version)

    def test_a_concurrent_writer_is_read_again_not_duplicated(self):
        answer = comment_of(answer_survey(self.survey, NEGATIVE_FR))
        real_write = services._batch_write
        calls = []

        def racing_write(field, todo, *args):
            if not calls:
                # Another worker stores this answer's reading first.
                calls.append(1)
                TextAnalysis.objects.create(
                    answer=answer,
                    language="fr",
                    sentiment="neutral",
                    score=0.0,
                    text_hash="other",
                    analysed_at=timezone.now(),
                )
            return real_write(field, todo, *args)

        with mock.patch.object(services, "_batch_write", side_effect=racing_write):
            services.analyses_store_for_answers([answer.pk])

        analysis = TextAnalysis.objects.get()
        self.assertEqual(analysis.sentiment, "negative")
        self.assertEqual(analysis.text_hash, services.text_hash(NEGATIVE_FR))


class ReadingEverythingAgainTests(TextTestCase):
    def test_it_walks_comments_then_notes_by_batches_and_ends(self):
        survey = survey_with_comment()
        answers = [comment_of(answer_survey(survey, f"{NEGATIVE_FR} {n}")) for n in range(3)]
        customer = make_customer("Paul", "Martin")
        notes = [note_interaction(customer, f"{POSITIVE_EN} {n}") for n in range(2)]
        note_interaction(customer, "")

        steps = []
        cursors = {"after_answer": 0, "after_interaction": 0}
        while True:
            result = services.analyses_refresh_batch(**cursors, size=2)
            steps.append(result)
            if result["done"]:
                break
            cursors = {name: result[name] for name in cursors}

        self.assertEqual(
            [(s["after_answer"], s["after_interaction"], s["done"]) for s in steps],
            [
                (answers[1].pk, 0, False),
                (answers[2].pk, 0, False),
                (answers[2].pk, notes[1].pk, False),
                (answers[2].pk, notes[1].pk, True),
            ],
        )
        self.assertEqual(TextAnalysis.objects.count(), 5)
        # Everything read by this model and taxonomy: a new pass finds nothing to do.
        self.assertTrue(services.analyses_refresh_batch()["done"])
        self.assertEqual(services.analyses_store_all()["analysed"], 0)


class TaxonomyTests(TextTestCase):
    def scooter(self, **extra) -> dict:
        return {
            "code": "product.scooter",
            "name_en": "Scooters",
            "name_fr": "Trottinettes",
            "terms_fr": ["trottinette", "  trottinettes  électriques "],
            "terms_en": ["scooter"],
            **extra,
        }

    def refused(self, data, topic=None) -> dict:
        with self.assertRaises(ValidationError) as caught:
            if topic is None:
                services.topic_create(actor=ACTOR, data=data)
            else:
                services.topic_update(actor=ACTOR, topic=topic, data=data)
        return caught.exception.message_dict

    def test_the_seed_taxonomy_is_installed(self):
        from cxcore.text.topics import seed_tree

        def codes(nodes):
            for node in nodes:
                yield node["code"]
                yield from codes(node.get("children", []))

        seeded = set(codes(seed_tree()))
        self.assertTrue(seeded)
        self.assertEqual(set(Topic.objects.values_list("code", flat=True)), seeded)
        self.assertEqual(services.topics_seed(), 0)  # a second run adds nothing

    def test_a_new_topic_is_audited_and_read_in_every_past_text(self):
        survey = survey_with_comment()
        answer = comment_of(answer_survey(survey, SCOOTER_FR))
        services.analyses_store_for_answers([answer.pk])
        self.assertNotIn("product.scooter", TextAnalysis.objects.get().topic_codes)

        with self.captureOnCommitCallbacks(execute=True):
            topic = services.topic_create(actor=ACTOR, data=self.scooter())

        self.assertEqual(topic.terms_fr, ["trottinette", "trottinettes électriques"])
        analysis = TextAnalysis.objects.get()
        self.assertIn("product.scooter", analysis.topic_codes)
        self.assertEqual(analysis.topics.get(topic=topic).words, ["trottinette"])
        entry = AuditEntry.objects.get(action="topic_created")
        self.assertEqual(entry.target, "topic:product.scooter")

    def test_a_topic_under_a_parent_is_found_when_its_parent_is_asked_for(self):
        parent = Topic.objects.filter(parent__isnull=True).first()
        topic = services.topic_create(actor=ACTOR, data=self.scooter(parent=parent.code))
        self.assertIn(topic.pk, queries.topic_subtree_ids(parent.code))

    def test_every_bad_field_is_named(self):
        existing = Topic.objects.first()
        cases = [
            ({"code": "Not A Code"}, "code"),
            ({"code": ""}, "code"),
            ({"code": existing.code}, "code"),
            ({"name_fr": "  "}, "name_fr"),
            ({"name_en": None}, "name_en"),
            ({"name_en": "x" * 121}, "name_en"),
            ({"terms_fr": "trottinette"}, "terms_fr"),
            ({"terms_fr": ["ok", ""]}, "terms_fr.1"),
            ({"terms_en": ["ok", 3]}, "terms_en.1"),
            ({"terms_en": ["x" * 101]}, "terms_en.0"),
            ({"exclusions_fr": ["Trottinette"]}, "exclusions_fr"),
            ({"parent": "no-such-topic"}, "parent"),
            ({"active": "yes"}, "active"),
            ({"position": -1}, "position"),
            ({"colour": "red"}, "colour"),
        ]
        for change, field in cases:
            with self.subTest(change=change):
                self.assertIn(field, self.refused(self.scooter(**change)))
        self.assertFalse(Topic.objects.filter(code="product.scooter").exists())
        self.assertFalse(AuditEntry.objects.filter(action="topic_created").exists())

    def test_a_topic_cannot_move_under_itself_or_change_its_code(self):
        top = services.topic_create(actor=ACTOR, data=self.scooter())
        child = services.topic_create(
            actor=ACTOR,
            data={
                "code": "product.scooter.battery",
                "parent": top.code,
                "name_en": "Batteries",
                "name_fr": "Batteries",
                "terms_fr": ["batterie"],
            },
        )
        self.assertIn("parent", self.refused({"parent": child.code}, top))
        self.assertIn("parent", self.refused({"parent": top.code}, top))
        self.assertIn("code", self.refused({"code": "product.kick"}, top))

    def test_an_update_keeps_what_it_does_not_name_and_says_what_changed(self):
        topic = services.topic_create(actor=ACTOR, data=self.scooter())
        with self.captureOnCommitCallbacks(execute=True):
            services.topic_update(
                actor=ACTOR, topic=topic, data={"exclusions_fr": ["trottinette neuve"]}
            )
        topic.refresh_from_db()
        self.assertEqual(topic.terms_fr, ["trottinette", "trottinettes électriques"])
        self.assertEqual(topic.exclusions_fr, ["trottinette neuve"])
        entry = AuditEntry.objects.get(action="topic_changed")
        self.assertEqual(entry.changes, {"exclusions_fr": ["trottinette neuve"]})

    def test_the_matcher_follows_the_taxonomy_at_once_in_this_process(self):
        matcher = queries.current_matcher()
        self.assertIs(queries.current_matcher(), matcher)  # cached
        topic = services.topic_create(actor=ACTOR, data=self.scooter())
        self.assertIn(
            "product.scooter",
            engine.analyse(SCOOTER_FR, matcher=queries.current_matcher()).topic_codes,
        )
        services.topic_update(actor=ACTOR, topic=topic, data={"active": False})
        self.assertNotIn(
            "product.scooter",
            engine.analyse(SCOOTER_FR, matcher=queries.current_matcher()).topic_codes,
        )

    def test_other_processes_notice_a_change_within_seconds(self):
        matcher = queries.current_matcher()
        # Written by another process: this one's cache was not told.
        Topic.objects.create(
            code="product.scooter",
            name_en="Scooters",
            name_fr="Trottinettes",
            terms_fr=["trottinette"],
        )
        self.assertIs(queries.current_matcher(), matcher)
        with mock.patch.object(queries.time, "monotonic", return_value=1e12):
            self.assertIsNot(queries.current_matcher(), matcher)
            self.assertIn(
                "product.scooter",
                engine.analyse(SCOOTER_FR, matcher=queries.current_matcher()).topic_codes,
            )

    def test_switching_a_branch_off_mutes_its_sub_topics(self):
        top = services.topic_create(actor=ACTOR, data=self.scooter(terms_fr=["engin"]))
        services.topic_create(
            actor=ACTOR,
            data={
                "code": "product.scooter.fault",
                "parent": top.code,
                "name_en": "Faults",
                "name_fr": "Pannes",
                "terms_fr": ["en panne"],
            },
        )
        self.assertIn(
            "product.scooter.fault",
            engine.analyse(SCOOTER_FR, matcher=queries.current_matcher()).topic_codes,
        )
        services.topic_update(actor=ACTOR, topic=top, data={"active": False})
        codes = [spec.code for spec in queries.topic_specs()]
        self.assertNotIn("product.scooter", codes)
        self.assertNotIn("product.scooter.fault", codes)

    def test_deleting_a_topic_deletes_its_sub_topics_and_their_readings(self):
        top = services.topic_create(actor=ACTOR, data=self.scooter())
        services.topic_create(
            actor=ACTOR,
            data={
                "code": "product.scooter.fault",
                "parent": top.code,
                "name_en": "Faults",
                "name_fr": "Pannes",
                "terms_fr": ["en panne"],
            },
        )
        survey = survey_with_comment()
        answer = comment_of(answer_survey(survey, SCOOTER_FR))
        services.analyses_store_for_answers([answer.pk])
        self.assertEqual(
            set(TextTopic.objects.values_list("topic__code", flat=True))
            & {"product.scooter", "product.scooter.fault"},
            {"product.scooter", "product.scooter.fault"},
        )

        with self.captureOnCommitCallbacks(execute=True):
            deleted = services.topic_delete(actor=ACTOR, topic=top)

        self.assertEqual(deleted, 2)
        self.assertFalse(Topic.objects.filter(code__startswith="product.scooter").exists())
        self.assertNotIn("product.scooter", TextAnalysis.objects.get().topic_codes)
        entry = AuditEntry.objects.get(action="topic_deleted")
        self.assertEqual(entry.changes, {"deleted": ["product.scooter", "product.scooter.fault"]})


class CsvAnalyseTests(TextTestCase):
    def run_csv(self, text: str, **kwargs) -> tuple[int, list[list[str]]]:
        import csv

        target = io.StringIO()
        count = services.csv_analyse(io.StringIO(text), target, **kwargs)
        delimiter = ";" if ";" in text.splitlines()[0] else ","
        return count, list(csv.reader(io.StringIO(target.getvalue()), delimiter=delimiter))

    def test_it_adds_the_reading_of_each_row(self):
        count, rows = self.run_csv(f'id,text\n1,"{NEGATIVE_FR}"\n2,"{POSITIVE_EN}"\n')
        self.assertEqual(count, 2)
        self.assertEqual(rows[0], ["id", "text", "language", "sentiment", "score", "topics"])
        self.assertEqual(rows[1][:4], ["1", NEGATIVE_FR, "fr", "negative"])
        self.assertEqual(rows[2][:4], ["2", POSITIVE_EN, "en", "positive"])
        self.assertLess(float(rows[1][4]), 0)
        expected = engine.analyse(NEGATIVE_FR, matcher=queries.current_matcher())
        self.assertEqual(rows[1][5], "; ".join(expected.topic_codes))

    def test_it_keeps_the_separator_and_replaces_columns_it_writes(self):
        _count, rows = self.run_csv(f"avis;sentiment\n{NEGATIVE_FR};old\n", column="avis")
        self.assertEqual(rows[0], ["avis", "sentiment", "language", "score", "topics"])
        self.assertEqual(rows[1][1], "negative")

    def test_a_single_column_file_and_blank_lines_are_fine(self):
        count, rows = self.run_csv(f'text\n"{POSITIVE_EN}"\n\n\n')
        self.assertEqual(count, 1)
        self.assertEqual(rows[1][1:3], ["en", "positive"])

    def test_cells_are_written_formula_safe(self):
        _count, rows = self.run_csv('id,text\n=1+2,"=HYPERLINK(""http://evil"")"\n')
        self.assertEqual(rows[1][0], "'=1+2")
        self.assertEqual(rows[1][1], '\'=HYPERLINK("http://evil")')

    def test_it_names_the_missing_column_and_the_bad_row(self):
        with self.assertRaisesMessage(services.CsvTextError, "no column comment"):
            self.run_csv("id,text\n1,ok\n", column="comment")
        with self.assertRaisesMessage(services.CsvTextError, "id, text"):
            self.run_csv("id,text\n1,ok\n", column="comment")
        with self.assertRaisesMessage(services.CsvTextError, "Line 3 has 3 cells"):
            self.run_csv("id,text\n1,ok\n2,too,many\n")
        with self.assertRaisesMessage(services.CsvTextError, "empty"):
            self.run_csv("")
