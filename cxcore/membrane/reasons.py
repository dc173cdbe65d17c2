"""Reason codes of the policy engine, as sentences a customer or a colleague can read."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from cxcore.membrane.models import MessageChannel, Purpose

REASON_TEXTS = {
    "message_expired": _("The message had expired ({at})."),
    "channel_not_chosen": _("You did not choose {channel} among your channels."),
    "no_channel_offered": _("The message exists on none of the channels you accept."),
    "consent_withdrawn": _("You withdrew your consent to {purpose} messages by {channel}."),
    "consent_missing": _("You have not agreed to {purpose} messages by {channel}."),
    "do_not_contact": _("{channel} is marked do-not-contact."),
    "no_address": _("We hold no usable address for {channel}."),
    "no_digital": _("You asked not to be contacted by digital channels ({channel})."),
    "no_usable_channel": _("No channel is both allowed and usable for {purpose} messages."),
    "consent_given": _("You agreed to {purpose} messages by {channel}."),
    "consent_not_needed": _(
        "{purpose} messages need no opt-in, and you have not refused them by {channel}."
    ),
    "channel_chosen": _("Sent by {channel}, the first channel allowed."),
    "language_fallback": _("The message was not written in your language; sent in {used}."),
    "marketing_paused": _("You paused marketing messages until {until}."),
    "relevance_unknown": _("You have not told us your interests; the message was not filtered."),
    "not_relevant": _("The message's topics ({topics}) do not match your interests."),
    "relevant": _("The message matches your interests ({topics})."),
    "open_complaint": _("Marketing is held while a complaint of yours is open."),
    "recent_bad_experience": _("Marketing is held after a recent bad experience, until {until}."),
    "duplicate": _("You already received this message in the last {days} days."),
    "interaction_already_surveyed": _("We already asked you about this interaction."),
    "survey_recontact": _("You were already surveyed in the last {days} days."),
    "quiet_hours": _("Held during your quiet hours, until {until}."),
    "cap_zero": _("You asked for no {purpose} messages at all."),
    "frequency_cap": _("The limit of {limit} messages ({cap}) was reached; held until {until}."),
    "would_expire": _("It could not be sent before it expires ({at})."),
    "within_limits": _("It is within your limits on how often we may contact you."),
}

CAP_LABELS = {
    "customer_week": _("per week, all messages"),
    "customer_month": _("per month, all messages"),
    "purpose_week": _("per week for this purpose"),
    "purpose_month": _("per month for this purpose"),
}


def _show(key: str, value):
    if key == "channel" and value in MessageChannel.values:
        label = str(MessageChannel(value).label)
        return label if label.isupper() else label.lower()  # mid-sentence, but "SMS" stays
    if key == "purpose" and value in Purpose.values:
        return str(Purpose(value).label).lower()
    if key == "cap":
        return CAP_LABELS.get(value, value)
    if key in ("used", "wanted"):
        return {"fr": _("French"), "en": _("English")}.get(value, value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        value = _parse_moment(value)
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "DATE_FORMAT")
    return value


def _parse_moment(text: str):
    try:
        if "T" in text or " " in text:
            return datetime.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        return text


def reason_text(code: str, params: dict | None = None, *, language: str | None = None) -> str:
    """The sentence for one reason, in the active language or the one asked for."""
    if language:
        with override(language):
            return reason_text(code, params)
    template = REASON_TEXTS.get(code)
    if template is None:
        return code
    shown = {key: _show(key, value) for key, value in (params or {}).items()}
    try:
        return str(template).format(**shown)
    except (KeyError, IndexError):
        return str(template)


def reasons_for_display(reasons: list[dict]) -> list[dict]:
    """Stored reasons with their sentence in the active language, for templates and the API."""
    return [
        {**reason, "text": reason_text(reason["code"], reason.get("params"))} for reason in reasons
    ]
