"""Validating incoming interactions, one row at a time, with precise errors and no database writes.

The API (single and batch), the CSV import and the demo generator all go through `RowValidator`,
so a row means the same thing whichever door it came in by.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.customers.models import Customer, Language
from cxcore.customers.services import IdentityClaim
from cxcore.interactions.models import Channel, Direction, Employee, Partner, Site, Team, Touchpoint
from cxcore.lib.identity import (
    IdentityError,
    normalise_card,
    normalise_email,
    normalise_external_id,
    normalise_phone,
)

# Every field a row may carry; the API schema and the CSV column mapping use these names.
IDENTITY_FIELDS = ("customer", "customer_external_id", "email", "phone", "loyalty_card")
PROFILE_FIELDS = ("first_name", "last_name", "language")
INTERACTION_FIELDS = (
    "occurred_at",
    "touchpoint",
    "channel",
    "direction",
    "kind",
    "outcome",
    "employee",
    "team",
    "partner",
    "site",
    "note",
    "source",
    "external_id",
)
ALL_FIELDS = INTERACTION_FIELDS + IDENTITY_FIELDS + PROFILE_FIELDS + ("metadata",)
REQUIRED_FIELDS = ("occurred_at", "touchpoint", "channel")

MAX_LENGTH = {
    "kind": 50,
    "outcome": 50,
    "source": 50,
    "external_id": 100,
    "note": 10_000,
    "first_name": 100,
    "last_name": 100,
}
MAX_METADATA_BYTES = 10_000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_SURROGATE = re.compile("[\udc80-\udcff]")
_CUSTOMER_REF = re.compile(r"^[Cc]?0*(\d{1,18})$")
TEXT_FIELDS = frozenset(ALL_FIELDS) - {"metadata"}
# Computed once: TextChoices.values builds a new list on every access, and this runs per row.
CHANNELS = frozenset(Channel.values)
DIRECTIONS = frozenset(Direction.values)
LANGUAGES = frozenset(Language.values)


@dataclass
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class ValidRow:
    """A row that passed validation: ready to be written."""

    source: str
    external_id: str
    claim: IdentityClaim
    customer_id: int | None
    values: dict  # Interaction column attnames -> values
    index: int = 0
    fingerprinted: bool = False


@dataclass
class References:
    """Codes of the reference tables, loaded once per import or request."""

    touchpoints: dict = field(default_factory=dict)  # code -> (id, team_id, partner_id, site_id)
    employees: dict = field(default_factory=dict)
    teams: dict = field(default_factory=dict)
    partners: dict = field(default_factory=dict)
    sites: dict = field(default_factory=dict)

    @classmethod
    def load(cls) -> References:
        return cls(
            touchpoints={
                code: (pk, team, partner, site)
                for code, pk, team, partner, site in Touchpoint.objects.filter(
                    is_active=True
                ).values_list("code", "pk", "team_id", "partner_id", "site_id")
            },
            employees=dict(Employee.objects.values_list("code", "pk")),
            teams=dict(Team.objects.values_list("code", "pk")),
            partners=dict(Partner.objects.values_list("code", "pk")),
            sites=dict(Site.objects.values_list("code", "pk")),
        )


def parse_aware_datetime(value) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("required")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("invalid") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("naive")
    return parsed


class RowValidator:
    """Turns raw rows (dicts of field name -> value) into ValidRow or a list of FieldError."""

    def __init__(self, references: References, *, default_source: str, now: datetime | None = None):
        self.references = references
        self.default_source = default_source
        self.latest_allowed = (now or timezone.now()) + timedelta(days=1)

    def validate(self, raw: dict, index: int = 0) -> tuple[ValidRow | None, list[FieldError]]:
        errors: list[FieldError] = []
        text = {}
        # Only the fields the row carries (a handful of the 22), not every known name.
        for name, value in raw.items():
            if value is None or name not in TEXT_FIELDS:
                continue
            if not isinstance(value, str):
                if name == "customer" and isinstance(value, int):
                    value = str(value)
                elif name == "occurred_at" and isinstance(value, datetime):
                    text[name] = value
                    continue
                else:
                    errors.append(FieldError(name, "invalid_type", _("Expected text.")))
                    continue
            value = value.strip()
            if value:
                if _SURROGATE.search(value):
                    errors.append(
                        FieldError(name, "encoding", _("Contains bytes that are not valid text."))
                    )
                    continue
                limit = MAX_LENGTH.get(name)
                if limit and len(value) > limit:
                    errors.append(
                        FieldError(
                            name,
                            "too_long",
                            _("At most %(limit)d characters (got %(length)d).")
                            % {"limit": limit, "length": len(value)},
                        )
                    )
                    continue
                text[name] = value
        for name in REQUIRED_FIELDS:
            if name not in text and not any(e.field == name for e in errors):
                errors.append(FieldError(name, "required", _("This field is required.")))

        values: dict = {}
        refs = self.references

        if "occurred_at" in text:
            try:
                occurred_at = parse_aware_datetime(text["occurred_at"])
            except ValueError as exc:
                if str(exc) == "naive":
                    errors.append(
                        FieldError(
                            "occurred_at",
                            "naive_datetime",
                            _("Give a time zone, e.g. 2026-03-01T14:30:00+01:00 or …Z."),
                        )
                    )
                else:
                    errors.append(
                        FieldError(
                            "occurred_at",
                            "invalid_datetime",
                            _("Not an ISO 8601 date and time (e.g. 2026-03-01T14:30:00+01:00)."),
                        )
                    )
            else:
                if occurred_at > self.latest_allowed:
                    errors.append(
                        FieldError("occurred_at", "future_datetime", _("This is in the future."))
                    )
                values["occurred_at"] = occurred_at

        touchpoint = None
        if "touchpoint" in text:
            touchpoint = refs.touchpoints.get(text["touchpoint"])
            if touchpoint is None:
                errors.append(
                    FieldError(
                        "touchpoint",
                        "unknown_touchpoint",
                        _("No active touchpoint has the code %r.") % text["touchpoint"],
                    )
                )
            else:
                values["touchpoint_id"] = touchpoint[0]

        if "channel" in text:
            channel = text["channel"].lower()
            if channel not in CHANNELS:
                errors.append(
                    FieldError(
                        "channel",
                        "invalid_channel",
                        _("Use one of: %s.") % ", ".join(Channel.values),
                    )
                )
            values["channel"] = channel

        direction = text.get("direction", Direction.INBOUND).lower()
        if direction not in DIRECTIONS:
            errors.append(
                FieldError("direction", "invalid_direction", _("Use inbound or outbound."))
            )
        values["direction"] = direction

        for name in ("kind", "outcome"):
            value = text.get(name, "").lower()
            if value and not _SLUG.match(value):
                errors.append(
                    FieldError(
                        name,
                        "invalid_code",
                        _("Use lower-case letters, digits, '-', '_' or '.' (got %r).") % value,
                    )
                )
            values[name] = value

        for name, table in (
            ("employee", refs.employees),
            ("team", refs.teams),
            ("partner", refs.partners),
            ("site", refs.sites),
        ):
            code = text.get(name)
            if code is None:
                values[f"{name}_id"] = None
            elif code in table:
                values[f"{name}_id"] = table[code]
            else:
                errors.append(FieldError(name, f"unknown_{name}", _("Unknown code %r.") % code))
        # A touchpoint run by a team or a partner passes them on unless the row says otherwise.
        if touchpoint is not None:
            for position, name in ((1, "team_id"), (2, "partner_id"), (3, "site_id")):
                if values.get(name) is None:
                    values[name] = touchpoint[position]

        values["note"] = text.get("note", "")
        metadata = raw.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            errors.append(FieldError("metadata", "invalid_type", _("Expected an object.")))
            metadata = {}
        elif metadata:
            size = len(json.dumps(metadata, ensure_ascii=False, default=str).encode())
            if size > MAX_METADATA_BYTES:
                errors.append(
                    FieldError(
                        "metadata",
                        "too_long",
                        _("At most %(limit)d bytes of metadata (got %(size)d).")
                        % {"limit": MAX_METADATA_BYTES, "size": size},
                    )
                )
        values["metadata"] = metadata

        source = text.get("source", self.default_source)
        if not _SLUG.match(source.lower()):
            errors.append(
                FieldError("source", "invalid_code", _("Use a short code such as 'shop'."))
            )

        identities = []
        customer_id = None
        if "customer" in text:
            match = _CUSTOMER_REF.match(text["customer"])
            if match is None:
                errors.append(
                    FieldError("customer", "invalid_customer", _("Not a customer reference."))
                )
            else:
                customer_id = int(match.group(1))
        for name, kind, normaliser in (
            ("customer_external_id", "external_id", normalise_external_id),
            ("email", "email", normalise_email),
            ("phone", "phone", normalise_phone),
            ("loyalty_card", "loyalty_card", normalise_card),
        ):
            if name in text:
                try:
                    value = normaliser(text[name])
                except IdentityError as exc:
                    errors.append(FieldError(name, exc.code, str(exc)))
                else:
                    system = source if kind == "external_id" else ""
                    identities.append((kind, system, value))
        if (
            not identities
            and customer_id is None
            and not any(e.field in IDENTITY_FIELDS for e in errors)
        ):
            errors.append(
                FieldError(
                    "customer",
                    "identity_missing",
                    _("Say who the customer is: %s.") % ", ".join(IDENTITY_FIELDS),
                )
            )
        language = text.get("language", "").lower()
        if language and language not in LANGUAGES:
            errors.append(FieldError("language", "invalid_language", _("Use fr or en.")))

        if errors:
            return None, errors

        external_id = text.get("external_id")
        fingerprinted = external_id is None
        if fingerprinted:
            # Rows without an id get one from their content, so replaying a file is harmless.
            parts = [
                "|".join(sorted(":".join(key) for key in identities)),
                str(customer_id or ""),
                text["touchpoint"],
                values["channel"],
                values["occurred_at"].astimezone(UTC).isoformat(),
                direction,
                values["kind"],
                values["outcome"],
                values["note"],
            ]
            external_id = "fp:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
        values["source"] = source
        values["external_id"] = external_id
        return (
            ValidRow(
                source=source,
                external_id=external_id,
                claim=IdentityClaim(
                    identities=identities,
                    first_name=text.get("first_name", ""),
                    last_name=text.get("last_name", ""),
                    language=language,
                ),
                customer_id=customer_id,
                values=values,
                index=index,
                fingerprinted=fingerprinted,
            ),
            [],
        )


def live_customer_ids(customer_ids: set[int]) -> dict[int, int]:
    """Map customer ids (possibly merged ones) to the live customer they now are."""
    found = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "merged_into_id"))
    result = {}
    for customer_id in customer_ids:
        if customer_id not in found:
            continue
        target, seen = customer_id, 0
        while found.get(target) and seen < 10:
            nxt = found[target]
            if nxt not in found:
                found.update(Customer.objects.filter(pk=nxt).values_list("pk", "merged_into_id"))
            target, seen = nxt, seen + 1
        result[customer_id] = target
    return result
