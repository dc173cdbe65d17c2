"""The nucleus: the customer, their identities, declared attributes, segments and the audit log."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    LAPSING = "lapsing", _("Lapsing")
    DORMANT = "dormant", _("Dormant")


class Language(models.TextChoices):
    EN = "en", _("English")
    FR = "fr", _("French")


class CustomerQuerySet(models.QuerySet):
    def live(self):
        """Customers that were not merged into another one."""
        return self.filter(merged_into__isnull=True)


class Customer(models.Model):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FR
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=10,
        choices=LifecycleStage.choices,
        default=LifecycleStage.PROSPECT,
    )
    # 0-100, recomputed by customers.services.customer_scores_refresh (docs/customers.md).
    intensity = models.PositiveSmallIntegerField(_("relationship intensity"), default=0)
    first_interaction_at = models.DateTimeField(null=True, blank=True)
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["lifecycle_stage"]),
            models.Index(fields=["last_interaction_at"]),
        ]
        permissions = [
            ("view_personal_data", _("Can see customers' names and contact details")),
            ("merge_customer", _("Can merge customers")),
            ("export_customer", _("Can export customer data")),
        ]

    def __str__(self):
        return self.display_name

    @property
    def reference(self) -> str:
        """The number staff read out on the phone; never personal data."""
        return f"C{self.pk:07d}" if self.pk else ""

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.reference


class ContactKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    POSTAL = "postal", _("Postal address")
    EXTERNAL_ID = "external_id", _("External id")
    LOYALTY_CARD = "loyalty_card", _("Loyalty card")
    SOCIAL = "social", _("Social handle")


# Identities used to recognise a customer; a postal address is shared by a household, so it
# is a contact point but never proof of who someone is.
IDENTITY_KINDS = (
    ContactKind.EXTERNAL_ID,
    ContactKind.LOYALTY_CARD,
    ContactKind.EMAIL,
    ContactKind.PHONE,
    ContactKind.SOCIAL,
)


class ContactPoint(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=16, choices=ContactKind.choices)
    # For external ids the source system ("shop", "crm"); for social handles the network.
    system = models.CharField(_("system"), max_length=50, blank=True, default="")
    value = models.CharField(_("value"), max_length=320)
    verified = models.BooleanField(_("verified"), default=False)
    source = models.CharField(_("source"), max_length=50, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "system", "value"],
                condition=~models.Q(kind="postal"),
                name="contact_point_identity_unique",
            )
        ]
        indexes = [models.Index(fields=["value"])]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


class IdentityConflict(models.Model):
    """A record whose identities belong to two different customers, for a person to settle."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Dismissed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    other_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ContactKind.choices)
    system = models.CharField(max_length=50, blank=True, default="")
    value = models.CharField(max_length=320)
    source = models.CharField(max_length=50, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("identity conflict")
        verbose_name_plural = _("identity conflicts")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "other_customer", "kind", "system", "value"],
                condition=models.Q(status="open"),
                name="identity_conflict_open_unique",
            )
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()} shared by {self.customer_id} and {self.other_customer_id}"
        )


class CustomerMerge(models.Model):
    """A merge that happened: the merged customer stays as a tombstone pointing at the survivor."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_won")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_lost")
    merged_at = models.DateTimeField(auto_now_add=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reason = models.CharField(max_length=200, blank=True)
    moved = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self):
        return f"{self.merged_id} → {self.survivor_id}"


class DeclaredAttribute(models.Model):
    """Zero-party data: something the customer told us about themselves."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="attributes")
    key = models.SlugField(_("key"), max_length=50)
    value = models.CharField(_("value"), max_length=500)
    declared_at = models.DateTimeField(_("declared at"))
    channel = models.CharField(_("channel"), max_length=20)
    source = models.CharField(_("source"), max_length=50, blank=True, default="")

    class Meta:
        verbose_name = _("declared attribute")
        verbose_name_plural = _("declared attributes")
        constraints = [
            models.UniqueConstraint(fields=["customer", "key"], name="declared_attribute_unique")
        ]

    def __str__(self):
        return f"{self.key}={self.value}"


class Segment(models.Model):
    """A saved rule-based filter over customers, evaluated when read (customers.queries)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(_("rules"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name


class AuditQuerySet(models.QuerySet):
    # The audit log is append-only: bulk edits and deletes through the ORM are refused.
    def update(self, **kwargs):
        raise PermissionError("The audit log cannot be edited")

    def delete(self):
        raise PermissionError("The audit log cannot be edited")


class AuditEntry(models.Model):
    """Who did what to whose personal data, when and from where. Append-only."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=30)
    target = models.CharField(_("what"), max_length=100)
    # A plain number, not a foreign key: the entry must outlive the customer it talks about.
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    via = models.CharField(_("via"), max_length=20)
    ip_address = models.GenericIPAddressField(_("from"), null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit log cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log cannot be edited")
