"""Normalising the identities a customer is recognised by: emails, phone numbers, cards, handles."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is the mailer's job.
_EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_HANDLE = re.compile(r"^@?[A-Za-z0-9_.]{1,64}$")
_CARD = re.compile(r"^[A-Za-z0-9-]{4,40}$")


class IdentityError(ValueError):
    """A value that cannot be an identity; `code` is stable, the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def normalise_email(value: str) -> str:
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise IdentityError("invalid_email", f"{value!r} is not a valid email address")
    local, _, domain = email.rpartition("@")
    # Domains are case-insensitive; local parts are in practice too, and matching must not
    # split one person in two because they typed a capital letter.
    return f"{local.lower()}@{domain.lower()}"


@lru_cache(maxsize=65536)
def normalise_phone(value: str, default_region: str = "FR") -> str:
    """Return the number in E.164 (+33612345678); national numbers are read in default_region."""
    raw = value.strip()
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise IdentityError("invalid_phone", f"{value!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise IdentityError("invalid_phone", f"{value!r} is not a valid phone number") from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_card(value: str) -> str:
    card = value.strip().replace(" ", "").upper()
    if not _CARD.match(card):
        raise IdentityError("invalid_card", f"{value!r} is not a loyalty card number")
    return card


def normalise_handle(value: str) -> str:
    handle = value.strip()
    if not _HANDLE.match(handle):
        raise IdentityError("invalid_handle", f"{value!r} is not a social handle")
    return handle.lstrip("@").lower()


def normalise_external_id(value: str) -> str:
    external_id = value.strip()
    if not external_id or len(external_id) > 100:
        raise IdentityError("invalid_external_id", "an external id has 1 to 100 characters")
    return external_id


def normalise_postal(value: str) -> str:
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    address = "\n".join(line for line in lines if line)
    if not address or len(address) > 320:
        raise IdentityError("invalid_address", "a postal address has 1 to 320 characters")
    return address


NORMALISERS = {
    "email": normalise_email,
    "phone": normalise_phone,
    "loyalty_card": normalise_card,
    "social": normalise_handle,
    "external_id": normalise_external_id,
    "postal": normalise_postal,
}


def normalise(kind: str, value: str) -> str:
    return NORMALISERS[kind](value)
