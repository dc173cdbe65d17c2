"""The membrane around each customer: consents, preferences, messages, decisions, deliveries."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")
    FEEDBACK = "feedback", _("Feedback surveys")
    PERSONALISATION = "personalisation", _("Personalisation")
    RESEARCH = "research", _("Research")


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    POSTAL = "postal", _("Postal letter")
    PHONE = "phone", _("Phone call")
    # Handed to another system of the company, typically its mobile app, by a signed webhook.
    WEBHOOK = "webhook", _("App notification")


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    PREFERENCE_CENTRE = "preference_centre", _("Preference centre")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    STAFF = "staff", _("Staff")
    PAPER = "paper", _("Paper form")


class AppendOnlyQuerySet(models.QuerySet):
    # A ledger is evidence: bulk edits and deletes through the ORM are refused.
    def update(self, **kwargs):
        raise PermissionError("The consent ledger cannot be edited")

    def delete(self):
        raise PermissionError("The consent ledger cannot be edited")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("The consent ledger cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The consent ledger cannot be edited")


class ConsentWording(AppendOnlyModel):
    """The exact text shown when consent was asked, stored once and referenced by its hash."""

    sha256 = models.CharField(max_length=64, unique=True)
    text = models.TextField(_("wording"))
    language = models.CharField(_("language"), max_length=2)
    version = models.CharField(_("version"), max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consent wording")
        verbose_name_plural = _("consent wordings")

    def __str__(self):
        return f"{self.version or self.sha256[:12]} ({self.language})"


class ConsentEvent(AppendOnlyModel):
    """One consent given or withdrawn, with its proof. The current state derives from these."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    granted = models.BooleanField(_("granted"))
    occurred_at = models.DateTimeField(_("when"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(_("source"), max_length=20, choices=ConsentSource.choices)
    wording = models.ForeignKey(ConsentWording, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(_("who"), max_length=150)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True, default="")
    note = models.CharField(_("note"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        indexes = [models.Index(fields=["customer", "purpose", "channel", "occurred_at"])]

    def __str__(self):
        verb = "granted" if self.granted else "withdrawn"
        return f"{self.customer_id} {self.purpose}/{self.channel} {verb}"


class ConsentState(models.Model):
    """The latest consent event per customer, purpose and channel, kept for bulk decisions.

    Written only by membrane.services together with the event; `consent_states_rebuild`
    derives it again from the ledger.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    granted = models.BooleanField()
    event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "purpose", "channel"], name="consent_state_unique"
            )
        ]
        indexes = [models.Index(fields=["purpose", "customer"])]

    def __str__(self):
        return f"{self.customer_id} {self.purpose}/{self.channel}={self.granted}"


class DoNotContactReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINT = "complaint", _("Complaint")
    STAFF = "staff", _("Staff decision")


class DoNotContact(models.Model):
    """Never use this channel for this customer, whatever the consents say, until lifted."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=DoNotContactReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(_("since"), auto_now_add=True)
    created_by = models.CharField(max_length=150)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        verbose_name = _("do-not-contact")
        verbose_name_plural = _("do-not-contact entries")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "channel"],
                condition=models.Q(lifted_at__isnull=True),
                name="do_not_contact_active_unique",
            )
        ]
        indexes = [models.Index(fields=["customer", "channel"])]

    def __str__(self):
        return f"{self.customer_id} {self.channel} ({self.reason})"


class Accessibility(models.TextChoices):
    NO_DIGITAL = "no_digital", _("No digital channel (post or phone only)")
    LARGE_PRINT = "large_print", _("Large print")
    EASY_READ = "easy_read", _("Plain, easy-to-read language")
    HEARING = "hearing", _("Hearing difficulties: no phone calls")


# What a customer can set about being contacted (Preference's fields apart from its keys).
PREFERENCE_FIELDS = (
    "channels",
    "topics",
    "max_per_week",
    "max_per_month",
    "purpose_caps",
    "quiet_start",
    "quiet_end",
    "quiet_days",
    "accessibility",
    "marketing_paused_until",
)


class Preference(models.Model):
    """How the customer wants to be contacted. Owned by the customer; staff edit on their word."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    channels = models.JSONField(_("channels, in order of preference"), default=list, blank=True)
    topics = models.JSONField(_("topics of interest"), default=list, blank=True)
    max_per_week = models.PositiveSmallIntegerField(_("at most per week"), null=True, blank=True)
    max_per_month = models.PositiveSmallIntegerField(_("at most per month"), null=True, blank=True)
    # {"marketing": {"week": 1, "month": 2}, ...}
    purpose_caps = models.JSONField(_("limits per purpose"), default=dict, blank=True)
    quiet_start = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet until"), null=True, blank=True)
    quiet_days = models.JSONField(_("quiet days"), default=list, blank=True)
    accessibility = models.JSONField(_("accessibility needs"), default=list, blank=True)
    marketing_paused_until = models.DateField(_("pause marketing until"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")

    def __str__(self):
        return f"preferences of {self.customer_id}"


class PolicySetting(models.Model):
    """The company's parameters for one purpose; defaults live in membrane.policy."""

    purpose = models.CharField(max_length=20, choices=Purpose.choices, unique=True)
    params = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        verbose_name = _("policy setting")
        verbose_name_plural = _("policy settings")
        permissions = [("run_campaign", _("Can run campaigns"))]

    def __str__(self):
        return self.purpose


class Message(models.Model):
    """Something the company wants to say, on any channel; every send passes the membrane."""

    name = models.CharField(_("name"), max_length=150)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    topics = models.JSONField(_("topics"), default=list, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=3)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    team = models.ForeignKey(
        "interactions.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("team"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


class MessageVariant(models.Model):
    """The message's content for one channel and one language."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="variants")
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    language = models.CharField(_("language"), max_length=2)
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    body = models.TextField(_("text"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "channel", "language"], name="message_variant_unique"
            )
        ]
        ordering = ["channel", "language"]

    def __str__(self):
        return f"{self.message_id} {self.channel}/{self.language}"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Deciding")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=150)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="campaigns")
    segment = models.ForeignKey(
        "customers.Segment", on_delete=models.PROTECT, related_name="+", verbose_name=_("segment")
    )
    scheduled_at = models.DateTimeField(_("send from"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    dry_run = models.JSONField(default=dict, blank=True)
    dry_run_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


class Outcome(models.TextChoices):
    DELIVER = "deliver", _("Deliver")
    DEFER = "defer", _("Defer")
    BLOCK = "block", _("Block")


class ReasonSet(models.Model):
    """An ordered list of reasons, stored once: a million decisions share a few hundred."""

    sha256 = models.CharField(max_length=64, unique=True)
    reasons = models.JSONField()

    def __str__(self):
        return self.sha256[:12]


class Decision(models.Model):
    """What the membrane decided for one message and one customer, with its ordered reasons."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # For survey invitations: the interaction asked about (never surveyed twice).
    interaction_id = models.BigIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    outcome = models.CharField(_("decision"), max_length=8, choices=Outcome.choices)
    channel = models.CharField(_("channel"), max_length=10, blank=True, default="")
    language = models.CharField(max_length=2, blank=True, default="")
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    reason_set = models.ForeignKey(ReasonSet, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided"))

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer"],
                condition=models.Q(campaign__isnull=False),
                name="decision_once_per_campaign",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-decided_at"]),
            models.Index(fields=["campaign", "outcome"]),
            models.Index(
                fields=["interaction_id"],
                condition=models.Q(interaction_id__isnull=False),
                name="decision_interaction_idx",
            ),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.message_id} {self.outcome}"


class Delivery(models.Model):
    """Sending one decided message. One per decision: it can never go out twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent")

    decision = models.OneToOneField(Decision, on_delete=models.CASCADE, related_name="delivery")
    # Copies of the decision's keys, so caps count deliveries without a join.
    customer_id = models.BigIntegerField()
    message_id = models.BigIntegerField()
    purpose = models.CharField(max_length=20)
    channel = models.CharField(max_length=10)
    priority = models.PositiveSmallIntegerField(default=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    provider_ref = models.CharField(max_length=200, blank=True, default="")
    # Why a delivery was not sent after all (re-checked at sending time).
    reasons = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="delivery_due_idx",
            ),
            models.Index(fields=["customer_id", "claimed_at"]),
        ]

    def __str__(self):
        return f"{self.decision_id} {self.channel} {self.status}"
