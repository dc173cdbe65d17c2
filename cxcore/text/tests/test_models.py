"""What the database itself guarantees about stored readings, topics and sentiment models."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from cxcore.customers.tests.factories import make_customer
from cxcore.text.models import SentimentModel, TextAnalysis, TextTopic, Topic
from cxcore.text.tests.test_services import (
    NEGATIVE_FR,
    TextTestCase,
    answer_survey,
    comment_of,
    note_interaction,
    survey_with_comment,
)


def reading(**fields) -> TextAnalysis:
    values = {
        "language": "fr",
        "sentiment": "negative",
        "score": -0.8,
        "text_hash": "h",
        "analysed_at": timezone.now(),
    }
    return TextAnalysis.objects.create(**{**values, **fields})


class StoredReadingTests(TextTestCase):
    def setUp(self):
        super().setUp()
        self.answer = comment_of(answer_survey(survey_with_comment(), NEGATIVE_FR))
        self.interaction = note_interaction(make_customer("Paul", "Martin"), NEGATIVE_FR)

    def refused(self, **fields):
        with self.assertRaises(IntegrityError), transaction.atomic():
            reading(**fields)

    def test_a_reading_belongs_to_exactly_one_text(self):
        self.refused()
        self.refused(answer=self.answer, interaction=self.interaction)
        reading(answer=self.answer)
        reading(interaction=self.interaction)
        self.assertEqual(TextAnalysis.objects.count(), 2)

    def test_a_text_has_one_reading_at_most(self):
        reading(answer=self.answer)
        self.refused(answer=self.answer)

    def test_a_sentiment_is_one_of_three(self):
        self.refused(answer=self.answer, sentiment="furious")

    def test_a_topic_is_found_once_in_a_reading(self):
        analysis = reading(answer=self.answer)
        topic = Topic.objects.first()
        TextTopic.objects.create(analysis=analysis, topic=topic, words=["retard"])
        with self.assertRaises(IntegrityError), transaction.atomic():
            TextTopic.objects.create(analysis=analysis, topic=topic, words=[])

    def test_deleting_the_interaction_deletes_its_reading(self):
        analysis = reading(interaction=self.interaction)
        TextTopic.objects.create(analysis=analysis, topic=Topic.objects.first())
        self.interaction.delete()
        self.assertFalse(TextAnalysis.objects.exists())
        self.assertFalse(TextTopic.objects.exists())


class TopicAndModelTests(TextTestCase):
    def test_a_topic_is_named_in_the_language_of_the_page(self):
        topic = Topic.objects.create(code="x.y", name_en="Parcels", name_fr="Colis")
        with translation.override("fr"):
            self.assertEqual(topic.name, "Colis")
        with translation.override("en"):
            self.assertEqual(topic.name, "Parcels")

    def test_deleting_a_topic_deletes_its_sub_topics(self):
        parent = Topic.objects.create(code="a", name_en="A", name_fr="A")
        Topic.objects.create(code="a.b", parent=parent, name_en="B", name_fr="B")
        parent.delete()
        self.assertFalse(Topic.objects.filter(code__in=["a", "a.b"]).exists())

    def test_one_sentiment_model_is_active_at_most(self):
        SentimentModel.objects.create(version="one", artefact={}, active=True)
        SentimentModel.objects.create(version="two", artefact={}, active=False)
        with self.assertRaises(IntegrityError), transaction.atomic():
            SentimentModel.objects.create(version="three", artefact={}, active=True)
        with self.assertRaises(IntegrityError), transaction.atomic():
            SentimentModel.objects.create(version="one", artefact={})
