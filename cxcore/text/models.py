"""What the text area stores: the topic taxonomy, each text's analysis, and sentiment models."""

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


class Topic(models.Model):
    """One node of the taxonomy: what texts speak of, with the words that say it per language."""

    # Stable: stored results, filters and the API name topics by code, never by id.
    code = models.CharField(_("code"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        verbose_name=_("parent"),
    )
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120)
    terms_en = models.JSONField(_("terms (English)"), default=list, blank=True)
    terms_fr = models.JSONField(_("terms (French)"), default=list, blank=True)
    # A text that says one of these is not about the topic ("livraison gratuite" is no complaint
    # about delivery).
    exclusions_en = models.JSONField(_("exclusions (English)"), default=list, blank=True)
    exclusions_fr = models.JSONField(_("exclusions (French)"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    # With the number of topics, tells every process that the taxonomy changed (queries.py).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(code=""), name="topic_code_not_empty")
        ]

    def __str__(self):
        return self.code

    @property
    def name(self) -> str:
        """The name in the language of the current request."""
        return self.name_fr if (get_language() or "en").startswith("fr") else self.name_en


class TextAnalysis(models.Model):
    """The engine's reading of one text (a survey comment or an interaction's note)."""

    answer = models.OneToOneField(
        "feedback.Answer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="analysis",
    )
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="text_analysis",
    )
    language = models.CharField(_("language"), max_length=5)
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices)
    score = models.FloatField(_("score"))
    # For negative texts, the sentences that carry the complaint, most negative first.
    complaints = models.JSONField(default=list, blank=True)
    flags = models.JSONField(default=list, blank=True)
    # The codes of the topics found, in the engine's order: pages show them without a join
    # (TextTopic holds the same, indexed, for filters).
    topic_codes = models.JSONField(default=list, blank=True)
    # Versions of the model and taxonomy that produced this reading, and the text's SHA-256:
    # a text is read again only when one of the three changed.
    model = models.CharField(_("model"), max_length=100, blank=True, default="")
    taxonomy = models.CharField(_("taxonomy"), max_length=100, blank=True, default="")
    text_hash = models.CharField(max_length=64)
    analysed_at = models.DateTimeField(_("analysed at"))

    class Meta:
        verbose_name = _("text analysis")
        verbose_name_plural = _("text analyses")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(answer__isnull=False, interaction__isnull=True)
                    | models.Q(answer__isnull=True, interaction__isnull=False)
                ),
                name="text_analysis_one_text",
            ),
            models.CheckConstraint(
                condition=models.Q(sentiment__in=["negative", "neutral", "positive"]),
                name="text_analysis_sentiment_known",
            ),
        ]
        permissions = [("analyse_text", _("Can analyse texts through the API"))]

    def __str__(self):
        text = (
            f"answer:{self.answer_id}" if self.answer_id else f"interaction:{self.interaction_id}"
        )
        return f"{text} {self.sentiment}"


class TextTopic(models.Model):
    """A topic found in an analysed text, with the words of the text that matched it."""

    analysis = models.ForeignKey(TextAnalysis, on_delete=models.CASCADE, related_name="topics")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False)
    words = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("text topic")
        verbose_name_plural = _("text topics")
        constraints = [
            models.UniqueConstraint(fields=["analysis", "topic"], name="text_topic_once")
        ]
        # Filters walk from a topic to the texts that speak of it.
        indexes = [models.Index(fields=["topic", "analysis"])]

    def __str__(self):
        return f"{self.analysis_id}:{self.topic_id}"


class SentimentModel(models.Model):
    """A sentiment model adapted to this company's texts, as the engine serialises it."""

    version = models.CharField(_("version"), max_length=100, unique=True)
    artefact = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # At most one model reads texts; with none, the engine's own default does.
    active = models.BooleanField(_("active"), default=False)
    examples = models.PositiveIntegerField(_("examples"), default=0)
    metrics = models.JSONField(default=dict, blank=True)
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        verbose_name = _("sentiment model")
        verbose_name_plural = _("sentiment models")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"],
                condition=models.Q(active=True),
                name="sentiment_model_one_active",
            )
        ]

    def __str__(self):
        return self.version
