"""Surveys and their questions: asked about any interaction, on any channel."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    RELATIONSHIP = "relationship", _("Relationship")
    TRANSACTIONAL = "transactional", _("Transactional (about one touchpoint)")
    EMPLOYEE = "employee", _("Employee")
    PARTNER = "partner", _("Partner")


class QuestionType(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0-10)")
    CSAT = "csat", _("Satisfaction (1-5)")
    CES = "ces", _("Effort (1-7)")
    RATING = "rating", _("Rating")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TEXT = "text", _("Free text")
    YES_NO = "yes_no", _("Yes or no")


# Fixed scales of the standard CX measures; a plain rating sets its own.
SCALES = {QuestionType.NPS: (0, 10), QuestionType.CSAT: (1, 5), QuestionType.CES: (1, 7)}


class Survey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=SurveyKind.choices)
    # Transactional surveys ask about one touchpoint; the others about the whole relationship.
    touchpoint = models.ForeignKey(
        "interactions.Touchpoint",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("touchpoint"),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    title_fr = models.CharField(_("title (French)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    intro_fr = models.TextField(_("introduction (French)"), blank=True, default="")
    intro_en = models.TextField(_("introduction (English)"), blank=True, default="")
    thanks_fr = models.TextField(_("thank-you text (French)"), blank=True, default="")
    thanks_en = models.TextField(_("thank-you text (English)"), blank=True, default="")
    # The invitation's text per channel and language (a membrane message, purpose "feedback");
    # "{survey_link}" and "{survey_code}" in its text become the customer's own link and code.
    invitation_message = models.ForeignKey(
        "membrane.Message",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("invitation message"),
    )
    # The survey's public QR code link (/q/<code>/): anonymous answers, one invitation per visit.
    public_code = models.CharField(max_length=16, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["public_code"],
                condition=~models.Q(public_code=""),
                name="survey_public_code_unique",
            )
        ]

    def __str__(self):
        return self.name


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    # Stable within the survey: answers, branching and exports refer to questions by key.
    key = models.SlugField(max_length=50)
    type = models.CharField(_("type"), max_length=10, choices=QuestionType.choices)
    text_fr = models.CharField(_("question (French)"), max_length=500)
    text_en = models.CharField(_("question (English)"), max_length=500)
    required = models.BooleanField(_("required"), default=False)
    # [{"value": "price", "fr": "Le prix", "en": "The price"}, ...] for choice questions.
    choices = models.JSONField(default=list, blank=True)
    scale_min = models.SmallIntegerField(null=True, blank=True)
    scale_max = models.SmallIntegerField(null=True, blank=True)
    max_length = models.PositiveIntegerField(default=2000)
    # Shown only when an earlier answer meets this: {"question": key, "op": "lte", "value": 6}.
    show_if = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="question_key_unique"),
            models.UniqueConstraint(fields=["survey", "position"], name="question_position_unique"),
        ]

    def __str__(self):
        return f"{self.survey_id}:{self.key}"


class AnswerChannel(models.TextChoices):
    WEB = "web", _("Web link")
    SMS = "sms", _("SMS reply")
    QR = "qr", _("QR code")
    PAPER = "paper", _("Paper questionnaire")
    PHONE = "phone", _("Phone, with an agent")
    KIOSK = "kiosk", _("Kiosk in store")
    IMPORT = "import", _("Imported")


class SurveyTrigger(models.Model):
    """Invite after each interaction at a touchpoint: after a delay, for a sample."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="triggers")
    touchpoint = models.ForeignKey(
        "interactions.Touchpoint", on_delete=models.PROTECT, verbose_name=_("touchpoint")
    )
    delay_minutes = models.PositiveIntegerField(_("delay (minutes)"), default=60)
    sampling_percent = models.PositiveSmallIntegerField(_("sample (%)"), default=100)
    # Older interactions (an import of last year's data) are never surveyed.
    max_age_days = models.PositiveSmallIntegerField(
        _("only interactions newer than (days)"), default=7
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("trigger")
        verbose_name_plural = _("triggers")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sampling_percent__gte=0, sampling_percent__lte=100),
                name="trigger_sampling_percent_range",
            )
        ]

    def __str__(self):
        return f"{self.survey_id}@{self.touchpoint_id}"


class Kiosk(models.Model):
    """A tablet in a store: anonymous answers, rate-limited, reset after each one."""

    name = models.CharField(_("name"), max_length=100)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="kiosks")
    site = models.ForeignKey(
        "interactions.Site",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("site"),
    )
    # The secret in the kiosk's URL; replacing it retires a lost tablet.
    key = models.CharField(max_length=64, unique=True)
    max_per_minute = models.PositiveSmallIntegerField(_("answers per minute at most"), default=6)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("kiosk")
        verbose_name_plural = _("kiosks")
        constraints = [
            models.CheckConstraint(condition=~models.Q(key=""), name="kiosk_key_not_empty")
        ]

    def __str__(self):
        return self.name


class Invitation(models.Model):
    """One request to answer a survey, with its single-use token."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    # Never NULL, unique, unguessable: NULLs would slip past a unique constraint.
    token = models.CharField(max_length=64, unique=True)
    # Printed on paper and read out on the phone: short, no look-alike letters; keyed by agents.
    short_code = models.CharField(max_length=12, unique=True)
    trigger = models.ForeignKey(
        SurveyTrigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kiosk = models.ForeignKey(
        Kiosk, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The membrane's decision when the invitation was sent as a message; `blocked` when it said no.
    decision = models.ForeignKey(
        "membrane.Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    blocked = models.BooleanField(default=False)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    language = models.CharField(max_length=2, default="fr")
    channel = models.CharField(max_length=10, choices=AnswerChannel.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(token=""), name="invitation_token_not_empty"
            ),
            models.CheckConstraint(
                condition=~models.Q(short_code=""), name="invitation_short_code_not_empty"
            ),
            # A survey never asks twice about one interaction, whoever invites.
            models.UniqueConstraint(
                fields=["survey", "interaction"],
                condition=models.Q(interaction__isnull=False),
                name="invitation_once_per_interaction",
            ),
        ]
        indexes = [
            models.Index(fields=["kiosk", "created_at"]),
            # Results count the invitations a survey sent in a period.
            models.Index(fields=["survey", "created_at"]),
        ]

    def __str__(self):
        return f"{self.survey_id}:{self.pk}"


class Response(models.Model):
    class Status(models.TextChoices):
        PARTIAL = "partial", _("Partial")
        COMPLETE = "complete", _("Complete")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    # One response per invitation, enforced by the database (concurrent submissions included).
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="response"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Copied from the interaction (or the survey) so results group without joins.
    touchpoint = models.ForeignKey(
        "interactions.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL
    )
    team = models.ForeignKey("interactions.Team", null=True, blank=True, on_delete=models.SET_NULL)
    partner = models.ForeignKey(
        "interactions.Partner", null=True, blank=True, on_delete=models.SET_NULL
    )
    site = models.ForeignKey("interactions.Site", null=True, blank=True, on_delete=models.SET_NULL)
    channel = models.CharField(max_length=10, choices=AnswerChannel.choices)
    language = models.CharField(max_length=2, default="fr")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PARTIAL)
    nps = models.SmallIntegerField(null=True, blank=True)
    nps_category = models.CharField(max_length=10, blank=True, default="")
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # For answers collected elsewhere and imported: replays of the same id change nothing.
    source = models.CharField(max_length=50, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="response_source_external_id_unique",
            )
        ]
        indexes = [models.Index(fields=["survey", "status", "completed_at"])]

    def __str__(self):
        return f"{self.survey_id}:{self.pk} {self.status}"

    @property
    def seconds_to_complete(self) -> int | None:
        if self.completed_at is None:
            return None
        return int((self.completed_at - self.started_at).total_seconds())


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    # One of these holds the answer, by question type; text is stored as typed, never as HTML.
    number = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True, default="")
    choices = models.JSONField(default=list, blank=True)
    flag = models.BooleanField(null=True, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="answer_once")]
        # Results count answers per question and value.
        indexes = [models.Index(fields=["question", "number"])]

    def __str__(self):
        return f"{self.response_id}:{self.question_id}"
