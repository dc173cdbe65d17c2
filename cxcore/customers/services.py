"""Every write to the nucleus: identities, resolution, merge, attributes, segments, audit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.customers import scoring
from cxcore.customers.models import (
    IDENTITY_KINDS,
    AuditEntry,
    ContactKind,
    ContactPoint,
    Customer,
    CustomerMerge,
    DeclaredAttribute,
    IdentityConflict,
    Language,
    Segment,
)
from cxcore.customers.segments import segment_rules_validate
from cxcore.customers.signals import customer_merged
from cxcore.db import insert_rows, select_where_in
from cxcore.lib.actor import Actor
from cxcore.lib.identity import IdentityError, normalise

# When one record carries several identities, the most specific one decides who it is.
IDENTITY_PRIORITY = {kind: rank for rank, kind in enumerate(IDENTITY_KINDS)}
_TIME_ZONES = None


def _valid_time_zone(name: str) -> bool:
    global _TIME_ZONES
    if _TIME_ZONES is None:
        _TIME_ZONES = frozenset(available_timezones())
    return name in _TIME_ZONES


# --- audit -------------------------------------------------------------------------------------


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: str,
    customer_id: int | None = None,
    changes: dict | None = None,
) -> AuditEntry:
    """Append one line to the audit log."""
    return AuditEntry.objects.create(
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.label,
        action=action,
        target=target,
        customer_id=customer_id,
        changes=changes or {},
        via=actor.via,
        ip_address=actor.ip,
    )


def _audit_bulk(actor: Actor, action: str, target: str, entries: Iterable[tuple[int, dict]]):
    """Many audit lines at once (ingestion creates customers by the thousand)."""
    user_id = getattr(actor.user, "pk", None)
    now = timezone.now()
    insert_rows(
        AuditEntry,
        [
            "at",
            "actor_id",
            "actor_label",
            "action",
            "target",
            "customer_id",
            "changes",
            "via",
            "ip_address",
        ],
        [
            (now, user_id, actor.label, action, target, customer_id, changes, actor.via, actor.ip)
            for customer_id, changes in entries
        ],
    )


# --- customers and contact points -------------------------------------------------------------


def _check_profile(language: str | None, time_zone: str | None) -> None:
    if language is not None and language not in Language.values:
        raise ValidationError({"language": _("Use one of: %s.") % ", ".join(Language.values)})
    if time_zone is not None and not _valid_time_zone(time_zone):
        raise ValidationError({"time_zone": _("%s is not a known time zone.") % time_zone})


def identity_normalise(kind: str, value: str, *, field_name: str | None = None) -> str:
    """Normalise or raise a ValidationError naming the field."""
    if kind not in ContactKind.values:
        raise ValidationError({field_name or "kind": _("Unknown contact kind %s.") % kind})
    try:
        return normalise(kind, value)
    except IdentityError as exc:
        raise ValidationError({field_name or kind: str(exc)}, code=exc.code) from None


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    first_name: str = "",
    last_name: str = "",
    language: str = Language.FR,
    time_zone: str = "Europe/Paris",
    contact_points: Sequence[dict] = (),
) -> Customer:
    _check_profile(language, time_zone)
    customer = Customer.objects.create(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        language=language,
        time_zone=time_zone,
    )
    audit_record(
        actor=actor,
        action="create",
        target="customer",
        customer_id=customer.pk,
        changes={"first_name": customer.first_name, "last_name": customer.last_name},
    )
    problems = {}
    kinds = [point.get("kind") for point in contact_points]
    for position, point in enumerate(contact_points):
        try:
            contact_point_add(actor=actor, customer=customer, **point)
        except ValidationError as exc:
            # Name the contact point at fault: its kind when unique (a form's "email" field),
            # else its position in the list (the API's contact_points.1).
            unique_kind = kinds.count(point.get("kind")) == 1
            problems[point.get("kind") if unique_kind else f"contact_points.{position}"] = (
                exc.messages
            )
    if problems:
        raise ValidationError(problems)  # the atomic block undoes the customer too
    return customer


PROFILE_FIELDS = ("first_name", "last_name", "language", "time_zone")


@transaction.atomic
def customer_update(*, actor: Actor, customer: Customer, **changes) -> Customer:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    _check_profile(changes.get("language"), changes.get("time_zone"))
    diff = {}
    for name, value in changes.items():
        value = value.strip() if isinstance(value, str) else value
        old = getattr(customer, name)
        if old != value:
            diff[name] = [old, value]
            setattr(customer, name, value)
    if diff:
        customer.save(update_fields=[*diff, "updated_at"])
        audit_record(
            actor=actor, action="update", target="customer", customer_id=customer.pk, changes=diff
        )
    return customer


@transaction.atomic
def contact_point_add(
    *,
    actor: Actor,
    customer: Customer,
    kind: str,
    value: str,
    system: str = "",
    verified: bool = False,
    source: str = "",
) -> ContactPoint:
    """Attach a contact point; an identity already owned by another customer is refused."""
    normalised = identity_normalise(kind, value, field_name="value")
    system = (system or "").strip()
    if kind in (ContactKind.EXTERNAL_ID, ContactKind.SOCIAL) and not system:
        raise ValidationError({"system": _("Say which system or network this id belongs to.")})
    if kind != ContactKind.POSTAL:
        owner = (
            ContactPoint.objects.filter(kind=kind, system=system, value=normalised)
            .values_list("customer_id", flat=True)
            .first()
        )
        if owner == customer.pk:
            raise ValidationError({"value": _("This customer already has this contact point.")})
        if owner is not None:
            raise ValidationError(
                {"value": _("This identity belongs to another customer; merge them instead.")},
                code="identity_taken",
            )
    point = ContactPoint.objects.create(
        customer=customer,
        kind=kind,
        system=system,
        value=normalised,
        verified=verified,
        source=source or actor.via,
    )
    audit_record(
        actor=actor,
        action="add_contact_point",
        target="contact_point",
        customer_id=customer.pk,
        changes={"kind": kind, "system": system, "value": normalised},
    )
    return point


@transaction.atomic
def contact_point_remove(*, actor: Actor, point: ContactPoint) -> None:
    audit_record(
        actor=actor,
        action="remove_contact_point",
        target="contact_point",
        customer_id=point.customer_id,
        changes={"kind": point.kind, "system": point.system, "value": point.value},
    )
    point.delete()


@transaction.atomic
def attribute_declare(
    *,
    actor: Actor,
    customer: Customer,
    key: str,
    value: str,
    channel: str,
    declared_at: datetime | None = None,
) -> DeclaredAttribute:
    """Record what the customer told us; a new declaration replaces the previous value."""
    value = value.strip()
    if not value:
        raise ValidationError({"value": _("A declared attribute needs a value.")})
    declared_at = declared_at or timezone.now()
    attribute, created = DeclaredAttribute.objects.update_or_create(
        customer=customer,
        key=key,
        defaults={
            "value": value,
            "declared_at": declared_at,
            "channel": channel,
            "source": actor.via,
        },
    )
    audit_record(
        actor=actor,
        action="declare_attribute",
        target="declared_attribute",
        customer_id=customer.pk,
        changes={"key": key, "value": value, "channel": channel},
    )
    return attribute


# --- identity resolution (set-based, for ingestion) --------------------------------------------

IdentityKey = tuple[str, str, str]  # (kind, system, normalised value)


@dataclass
class IdentityClaim:
    """The identities and profile an incoming record carries, already normalised."""

    identities: list[IdentityKey]
    customer_id: int | None = None  # when the record names a known, live customer directly
    first_name: str = ""
    last_name: str = ""
    language: str = ""


@dataclass
class Resolution:
    customer_id: int
    created: bool = False
    conflicts: list[int] = field(default_factory=list)


def customers_resolve(
    claims: Sequence[IdentityClaim], *, actor: Actor, source: str
) -> list[Resolution]:
    """Find or create the customer of every claim, in a handful of queries for the whole set.

    A claim attaches to the customer owning any of its identities, and its new identities are
    added to that customer. When its identities point at two customers, it attaches to the one
    named by its most specific identity and an IdentityConflict is opened: nobody is merged
    blindly. Claims in the same set that share an identity end on the same customer. The caller
    owns the transaction.
    """
    owners = _identity_owners({key for claim in claims for key in claim.identities})
    pending: dict[int, IdentityClaim] = {}  # placeholder (negative) id -> claim creating it
    new_points: dict[IdentityKey, int] = {}
    resolutions: list[Resolution] = []
    conflicts: list[tuple[int, int, IdentityKey]] = []

    for claim in claims:
        ordered = sorted(claim.identities, key=lambda key: IDENTITY_PRIORITY[key[0]])
        matched: list[int] = [claim.customer_id] if claim.customer_id else []
        for key in ordered:
            owner = owners.get(key)
            if owner is not None and owner not in matched:
                matched.append(owner)
        if not matched:
            placeholder = -(len(pending) + 1)
            pending[placeholder] = claim
            for key in ordered:
                owners[key] = placeholder
                new_points[key] = placeholder
            resolutions.append(Resolution(customer_id=placeholder, created=True))
            continue
        chosen = matched[0]
        resolution = Resolution(customer_id=chosen)
        if len(matched) > 1:
            for key in ordered:
                other = owners.get(key)
                if other is not None and other != chosen:
                    conflicts.append((chosen, other, key))
                    resolution.conflicts.append(other)
        else:
            for key in ordered:
                if key not in owners:
                    owners[key] = chosen
                    new_points[key] = chosen
        resolutions.append(resolution)

    real_ids = _customers_create_pending(pending, actor=actor)

    def real(customer_id: int) -> int:
        return real_ids[customer_id] if customer_id < 0 else customer_id

    for resolution in resolutions:
        resolution.customer_id = real(resolution.customer_id)
        resolution.conflicts = [real(c) for c in resolution.conflicts]

    if new_points:
        now = timezone.now()
        insert_rows(
            ContactPoint,
            ["customer_id", "kind", "system", "value", "verified", "source", "created_at"],
            [
                (real(owner), kind, system, value, False, source, now)
                for (kind, system, value), owner in new_points.items()
            ],
        )
        _audit_bulk(
            actor,
            "add_contact_point",
            "contact_point",
            [
                (real(owner), {"kind": kind, "system": system, "value": value})
                for (kind, system, value), owner in new_points.items()
                if owner > 0  # new customers' identities are in their "create" entry
            ],
        )
    if conflicts:
        IdentityConflict.objects.bulk_create(
            [
                IdentityConflict(
                    customer_id=real(chosen),
                    other_customer_id=real(other),
                    kind=kind,
                    system=system,
                    value=value,
                    source=source,
                )
                for chosen, other, (kind, system, value) in conflicts
            ],
            ignore_conflicts=True,
        )
    return resolutions


def _identity_owners(keys: set[IdentityKey]) -> dict[IdentityKey, int]:
    owners: dict[IdentityKey, int] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, _system, value in keys:
        by_kind.setdefault(kind, []).append(value)
    for kind, values in by_kind.items():
        for system, value, customer_id in select_where_in(
            ContactPoint,
            ["system", "value", "customer_id"],
            equals={"kind": kind},
            column="value",
            values=values,
        ):
            if (kind, system, value) in keys:
                owners[(kind, system, value)] = customer_id
    return owners


def _customers_create_pending(pending: dict[int, IdentityClaim], *, actor: Actor) -> dict[int, int]:
    if not pending:
        return {}
    now = timezone.now()
    placeholders = list(pending)
    rows = []
    for placeholder in placeholders:
        claim = pending[placeholder]
        language = claim.language if claim.language in Language.values else Language.FR
        rows.append(
            (
                claim.first_name[:100],
                claim.last_name[:100],
                language,
                "Europe/Paris",
                "prospect",
                0,
                now,
                now,
            )
        )
    ids = insert_rows(
        Customer,
        [
            "first_name",
            "last_name",
            "language",
            "time_zone",
            "lifecycle_stage",
            "intensity",
            "created_at",
            "updated_at",
        ],
        rows,
    )
    mapping = dict(zip(placeholders, ids, strict=True))
    _audit_bulk(
        actor,
        "create",
        "customer",
        [
            (
                mapping[p],
                {
                    "first_name": pending[p].first_name,
                    "last_name": pending[p].last_name,
                    "identities": [list(key) for key in pending[p].identities],
                },
            )
            for p in placeholders
        ],
    )
    return mapping


# --- merge --------------------------------------------------------------------------------------


@transaction.atomic
def customer_merge(
    *, actor: Actor, survivor: Customer, merged: Customer, reason: str = ""
) -> CustomerMerge:
    """Move everything `merged` has to `survivor`; `merged` stays as a tombstone pointing at it."""
    from cxcore.interactions.services import interactions_reassign

    if survivor.pk == merged.pk:
        raise ValidationError({"other": _("A customer cannot be merged with themselves.")})
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk])
    }
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    for customer in (survivor, merged):
        if customer.merged_into_id is not None:
            raise ValidationError(
                {"other": _("%s was already merged into another customer.") % customer.reference}
            )

    moved = {"contact_points": 0, "attributes": 0, "interactions": 0}
    survivor_keys = set(survivor.contact_points.values_list("kind", "system", "value"))
    for point in merged.contact_points.all():
        if (point.kind, point.system, point.value) in survivor_keys:
            point.delete()
        else:
            point.customer = survivor
            point.save(update_fields=["customer"])
            moved["contact_points"] += 1

    survivor_attributes = {a.key: a for a in survivor.attributes.all()}
    for attribute in merged.attributes.all():
        kept = survivor_attributes.get(attribute.key)
        if kept is None or kept.declared_at < attribute.declared_at:
            if kept is not None:
                kept.delete()
            attribute.customer = survivor
            attribute.save(update_fields=["customer"])
            moved["attributes"] += 1
        else:
            attribute.delete()

    moved["interactions"] = interactions_reassign(from_customer=merged, to_customer=survivor)

    IdentityConflict.objects.filter(
        status=IdentityConflict.Status.OPEN,
        customer_id__in=[survivor.pk, merged.pk],
        other_customer_id__in=[survivor.pk, merged.pk],
    ).update(
        status=IdentityConflict.Status.MERGED,
        resolved_at=timezone.now(),
        resolved_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    # Conflicts with third parties follow the survivor; settled ones between the two stay as they
    # were, so no conflict ever names the same customer twice.
    IdentityConflict.objects.filter(customer=merged).exclude(other_customer=survivor).update(
        customer=survivor
    )
    IdentityConflict.objects.filter(other_customer=merged).exclude(customer=survivor).update(
        other_customer=survivor
    )

    profile_fill = {}
    for name in ("first_name", "last_name"):
        if not getattr(survivor, name) and getattr(merged, name):
            profile_fill[name] = getattr(merged, name)
            setattr(survivor, name, getattr(merged, name))
    survivor.save()
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])

    merge = CustomerMerge.objects.create(
        survivor=survivor,
        merged=merged,
        merged_by=actor.user if getattr(actor.user, "pk", None) else None,
        reason=reason[:200],
        moved=moved,
    )
    for customer_id, role in ((survivor.pk, "survivor"), (merged.pk, "merged")):
        audit_record(
            actor=actor,
            action="merge",
            target="customer",
            customer_id=customer_id,
            changes={
                "role": role,
                "survivor": survivor.pk,
                "merged": merged.pk,
                "moved": moved,
                "profile_filled": profile_fill,
            },
        )
    customer_merged.send(sender=Customer, survivor=survivor, merged=merged, actor=actor)
    customer_scores_refresh(customer_ids=[survivor.pk])
    return merge


@transaction.atomic
def identity_conflict_dismiss(*, actor: Actor, conflict: IdentityConflict) -> None:
    if conflict.status != IdentityConflict.Status.OPEN:
        raise ValidationError(_("This conflict is already settled."))
    conflict.status = IdentityConflict.Status.DISMISSED
    conflict.resolved_at = timezone.now()
    conflict.resolved_by = actor.user if getattr(actor.user, "pk", None) else None
    conflict.save()
    audit_record(
        actor=actor,
        action="dismiss_conflict",
        target="identity_conflict",
        customer_id=conflict.customer_id,
        changes={"other_customer": conflict.other_customer_id, "kind": conflict.kind},
    )


# --- scores --------------------------------------------------------------------------------------


def customer_scores_refresh(*, customer_ids: Sequence[int] | None = None, now=None) -> int:
    """Recompute lifecycle stage, intensity and first/last contact for these customers (or all)."""
    from cxcore.interactions.queries import customer_activity

    now = now or timezone.now()
    if customer_ids is None:
        customer_ids = list(Customer.objects.live().values_list("pk", flat=True))
    updated = 0
    for start in range(0, len(customer_ids), 5000):
        chunk = list(customer_ids[start : start + 5000])
        activity = customer_activity(chunk, now=now)
        changed = []
        for pk, *old in Customer.objects.filter(pk__in=chunk).values_list(
            "pk", "lifecycle_stage", "intensity", "first_interaction_at", "last_interaction_at"
        ):
            stats = activity.get(pk, scoring.Activity(first_at=None, last_at=None))
            new = [
                scoring.lifecycle_stage(stats, now),
                scoring.relationship_intensity(stats, now),
                stats.first_at,
                stats.last_at,
            ]
            if new != old:
                changed.append((pk, *new))
        _scores_write(changed)
        updated += len(changed)
    return updated


def _scores_write(rows: list[tuple]) -> None:
    # One prepared UPDATE run for many rows: bulk_update's CASE WHEN grows quadratic in SQLite.
    if not rows:
        return
    ops = connection.ops
    table = ops.quote_name(Customer._meta.db_table)
    sql = (  # the table name is ours, every value is a parameter
        f"UPDATE {table} SET lifecycle_stage = %s, intensity = %s, "  # noqa: S608
        "first_interaction_at = %s, last_interaction_at = %s WHERE id = %s"
    )
    params = [
        (
            stage,
            intensity,
            ops.adapt_datetimefield_value(first),
            ops.adapt_datetimefield_value(last),
            pk,
        )
        for pk, stage, intensity, first, last in rows
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)


# --- segments ------------------------------------------------------------------------------------


@transaction.atomic
def segment_save(
    *,
    actor: Actor,
    name: str,
    rules: list,
    description: str = "",
    segment: Segment | None = None,
) -> Segment:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A segment needs a name.")})
    clash = Segment.objects.filter(name__iexact=name)
    if segment is not None:
        clash = clash.exclude(pk=segment.pk)
    if clash.exists():
        raise ValidationError({"name": _("Another segment already has this name.")})
    rules = segment_rules_validate(rules)
    if segment is None:
        segment = Segment(created_by=actor.user if getattr(actor.user, "pk", None) else None)
    segment.name = name
    segment.description = description
    segment.rules = rules
    segment.save()
    return segment
