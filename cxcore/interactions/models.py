"""Touchpoints, channels and the non-linear interaction log, with the reference models they name."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web")
    APP = "app", _("App")
    STORE = "store", _("Store")
    POSTAL = "postal", _("Postal mail")
    SOCIAL = "social", _("Social")
    CHAT = "chat", _("Chat")
    IN_PERSON = "in_person", _("In person")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class TouchpointKind(models.TextChoices):
    PHONE_RECEPTION = "phone_reception", _("Phone reception")
    ORDERING = "ordering", _("Ordering")
    STORE = "store", _("Store")
    DELIVERY = "delivery", _("Delivery")
    BILLING = "billing", _("Billing")
    PAYMENT = "payment", _("Payment")
    AFTER_SALES = "after_sales", _("After-sales")
    WEBSITE = "website", _("Website")
    APP = "app", _("App")
    EMAIL = "email", _("Email")
    SOCIAL = "social", _("Social")
    OTHER = "other", _("Other")


class CodedModel(models.Model):
    """A reference row named by a stable code that imports and the API use."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class Team(CodedModel):
    class Meta(CodedModel.Meta):
        verbose_name = _("team")
        verbose_name_plural = _("teams")


class Partner(CodedModel):
    class Kind(models.TextChoices):
        LOGISTICS = "logistics", _("Logistics")
        PAYMENT = "payment", _("Payment")
        SERVICE = "service", _("Outsourced service")
        OTHER = "other", _("Other")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)

    class Meta(CodedModel.Meta):
        verbose_name = _("partner")
        verbose_name_plural = _("partners")


class Site(CodedModel):
    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        ESHOP = "eshop", _("E-shop")
        CALL_CENTRE = "call_centre", _("Call centre")
        WAREHOUSE = "warehouse", _("Warehouse")
        OFFICE = "office", _("Office")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    city = models.CharField(_("city"), max_length=100, blank=True)

    class Meta(CodedModel.Meta):
        verbose_name = _("site")
        verbose_name_plural = _("sites")


class Employee(CodedModel):
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta(CodedModel.Meta):
        verbose_name = _("employee")
        verbose_name_plural = _("employees")


class Touchpoint(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=TouchpointKind.choices)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        """The name in the language of the current request."""
        return self.name_fr if (get_language() or "en").startswith("fr") else self.name_en


class Interaction(models.Model):
    """One contact between the customer and the company, on one touchpoint and one channel."""

    # Foreign keys carry no index of their own: customer and touchpoint lead the composite
    # indexes below, and teams, partners, sites and employees are few, read through rollups.
    # Every index costs on each of the millions of rows ingested (bench/ingest.py).
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="interactions",
        db_index=False,
    )
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.PROTECT, db_index=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.INBOUND
    )
    kind = models.CharField(_("kind"), max_length=50, blank=True, default="")
    outcome = models.CharField(_("outcome"), max_length=50, blank=True, default="")
    employee = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    note = models.TextField(_("note"), blank=True, default="")
    source = models.CharField(_("source system"), max_length=50)
    # Given by the source system, or a fingerprint of the row when it has none (ingestion).
    external_id = models.CharField(_("external id"), max_length=100)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="interaction_source_external_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(fields=["touchpoint", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]
        permissions = [("import_interactions", _("Can import interactions"))]

    def __str__(self):
        return f"{self.touchpoint_id} {self.channel} {self.occurred_at:%Y-%m-%d %H:%M}"


class ImportJob(models.Model):
    """A CSV file of interactions uploaded in the console or given to the CLI, and its outcome."""

    class Status(models.TextChoices):
        MAPPING = "mapping", _("Waiting for column mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20, default="utf-8")
    source = models.CharField(max_length=50, default="import")
    mapping = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    existing_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # The first errors in full (row, field, code, message); error_count has them all.
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Touched as chunks are written: a running import that stops beating was killed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def can_run_again(self) -> bool:
        """Failed, or running but silent for 5 minutes (its worker died): safe to re-run."""
        if self.status == self.Status.FAILED:
            return True
        if self.status == self.Status.RUNNING and self.heartbeat_at:
            return timezone.now() - self.heartbeat_at > timedelta(minutes=5)
        return False
