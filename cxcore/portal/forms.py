"""Forms of the portal's pages; they only validate input, services do the work."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from cxcore.customers.models import Language
from cxcore.membrane.models import Accessibility, MessageChannel, Purpose

# The CX topics a customer can say they care about; stored as these codes.
TOPICS = [
    ("delivery", _("Delivery")),
    ("returns", _("Returns")),
    ("product", _("Products")),
    ("price", _("Prices and offers")),
    ("billing", _("Billing")),
    ("staff", _("Our staff")),
    ("waiting", _("Waiting times")),
    ("website", _("Website and app")),
    ("communication", _("News and communication")),
    ("store", _("Stores")),
    ("after_sales", _("After-sales service")),
]
# Shown above the consent boxes; the text as rendered is the proof stored with every change.
CONSENT_WORDING = _(
    "I agree to receive the messages I tick below, for each purpose and by each channel. "
    "Unticking a box withdraws my agreement. I can change my choices at any time on this page."
)
ORDINALS = [_("1st"), _("2nd"), _("3rd"), _("4th"), _("5th"), _("6th"), _("7th"), _("8th")]
PURPOSE_HINTS = {
    "service": _("About your orders, appointments and account."),
    "marketing": _("News, offers and events."),
    "feedback": _("Short surveys about your experience with us."),
    "personalisation": _("Using what we know of you to choose what we show you."),
    "research": _("Longer studies to improve our products and services."),
}


def _time_zones(current: str) -> list[tuple[str, str]]:
    zones = {zone for zone in available_timezones() if "/" in zone and not zone.startswith("Etc/")}
    zones |= {"UTC", current}
    return [(zone, zone.replace("_", " ")) for zone in sorted(zones)]


def consent_field(purpose: str, channel: str) -> str:
    return f"consent__{purpose}__{channel}"


def rank_field(channel: str) -> str:
    return f"rank__{channel}"


def attribute_field(key: str) -> str:
    return f"attribute__{key}"


class PreferenceCentreForm(forms.Form):
    """The whole preference centre: consents, contact preferences, profile and attributes.

    Some checks concern a group of inputs rather than one (the channels' ranks, the marketing
    limits): their errors are kept in `group_errors` and shown on the group's fieldset.
    """

    # Groups of inputs whose errors are shown once, on the group's fieldset.
    GROUPS = {"channels": _("Channels"), "purpose_caps": _("Marketing messages, at most")}
    # Where a service's complaint about one of its fields is shown.
    SERVICE_FIELDS = {
        "topics": "topics",
        "max_per_week": "max_per_week",
        "max_per_month": "max_per_month",
        "quiet_start": "quiet_start",
        "quiet_end": "quiet_end",
        "quiet_days": "quiet_days",
        "accessibility": "accessibility",
        "marketing_paused_until": "marketing_paused_until",
        "language": "language",
        "time_zone": "time_zone",
    }

    language = forms.ChoiceField(label=_("Language of our messages"), choices=Language.choices)
    time_zone = forms.ChoiceField(
        label=_("Your time zone"),
        help_text=_("Quiet hours are counted in this time zone."),
    )
    topics = forms.MultipleChoiceField(
        label=_("Topics that interest you"),
        required=False,
        choices=TOPICS,
        widget=forms.CheckboxSelectMultiple,
    )
    max_per_week = forms.IntegerField(
        label=_("At most per week, all messages together"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("Leave empty for no limit."),
    )
    max_per_month = forms.IntegerField(
        label=_("At most per month, all messages together"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("Leave empty for no limit."),
    )
    marketing_week = forms.IntegerField(
        label=_("Marketing messages at most per week"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("Leave empty for no limit; 0 means none at all."),
    )
    marketing_month = forms.IntegerField(
        label=_("Marketing messages at most per month"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("Leave empty for no limit; 0 means none at all."),
    )
    quiet_start = forms.TimeField(
        label=_("Quiet from"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        label=_("Quiet until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_days = forms.TypedMultipleChoiceField(
        label=_("Quiet days"),
        required=False,
        coerce=int,
        choices=[(str(day), name) for day, name in WEEKDAYS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    accessibility = forms.MultipleChoiceField(
        label=_("Accessibility needs"),
        required=False,
        choices=Accessibility.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    marketing_paused_until = forms.DateField(
        label=_("Pause all marketing until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty to receive marketing you agreed to."),
    )

    def __init__(self, *args, centre: dict, time_zone: str, **kwargs):
        """`centre` is portal.queries.preference_centre's answer, the source of the choices."""
        super().__init__(*args, **kwargs)
        self.group_errors: dict[str, list[str]] = {}
        self.centre = centre
        self.fields["time_zone"].choices = _time_zones(time_zone)
        for purpose in Purpose.values:
            for channel, label in MessageChannel.choices:
                self.fields[consent_field(purpose, channel)] = forms.BooleanField(
                    label=label, required=False
                )
        ranks = [("", _("Not allowed"))] + [
            (str(n), ORDINALS[n - 1]) for n in range(1, len(MessageChannel.values) + 1)
        ]
        for channel, label in MessageChannel.choices:
            self.fields[rank_field(channel)] = forms.TypedChoiceField(
                label=label, required=False, choices=ranks, coerce=int, empty_value=None
            )
        # Topics set elsewhere (by staff, from a survey) stay ticked and keep their word.
        preference = centre["preference"]
        known = {code for code, _label in TOPICS}
        extra = [t for t in (preference.topics if preference else []) if t not in known]
        self.fields["topics"].choices = TOPICS + [(topic, topic) for topic in sorted(extra)]
        for attribute in centre["attributes"]:
            self.fields[attribute_field(attribute.key)] = forms.CharField(
                label=attribute.key.replace("_", " ").replace("-", " ").capitalize(),
                max_length=500,
                error_messages={"required": _("Give a value.")},
            )
        self.order_fields(
            [consent_field(p, c) for p in Purpose.values for c in MessageChannel.values]
            + [rank_field(c) for c in MessageChannel.values]
            + [
                "topics",
                "max_per_week",
                "max_per_month",
                "marketing_week",
                "marketing_month",
                "quiet_start",
                "quiet_end",
                "quiet_days",
                "accessibility",
                "marketing_paused_until",
                "language",
                "time_zone",
            ]
        )

    # --- what the page shows --------------------------------------------------------------

    @staticmethod
    def initial_for(centre: dict, *, language: str, time_zone: str) -> dict:
        preference = centre["preference"]
        initial = {
            consent_field(purpose, channel): granted
            for (purpose, channel), granted in centre["consents"].items()
        }
        initial.update(language=language, time_zone=time_zone)
        for attribute in centre["attributes"]:
            initial[attribute_field(attribute.key)] = attribute.value
        if preference is None:
            return initial
        for position, channel in enumerate(preference.channels or [], start=1):
            initial[rank_field(channel)] = str(position)
        caps = (preference.purpose_caps or {}).get("marketing") or {}
        initial.update(
            topics=preference.topics,
            max_per_week=preference.max_per_week,
            max_per_month=preference.max_per_month,
            marketing_week=caps.get("week"),
            marketing_month=caps.get("month"),
            quiet_start=preference.quiet_start,
            quiet_end=preference.quiet_end,
            quiet_days=[str(day) for day in preference.quiet_days or []],
            accessibility=preference.accessibility,
            marketing_paused_until=preference.marketing_paused_until,
        )
        return initial

    def consent_groups(self) -> list[dict]:
        opt_out = self.centre["opt_out_purposes"]
        return [
            {
                "purpose": purpose,
                "label": label,
                "hint": PURPOSE_HINTS.get(purpose, ""),
                "opt_out": purpose in opt_out,
                "fields": [
                    self[consent_field(purpose, channel)] for channel in MessageChannel.values
                ],
            }
            for purpose, label in Purpose.choices
        ]

    def rank_fields(self) -> list:
        return [self[rank_field(channel)] for channel in MessageChannel.values]

    def attribute_fields(self) -> list:
        return [self[attribute_field(a.key)] for a in self.centre["attributes"]]

    def problems(self) -> list[dict]:
        """Every error of the page, in page order, each with the id of the input it is about."""
        found = []
        for message in self.non_field_errors():
            found.append({"anchor": "consents", "label": "", "message": message})
        groups_shown = set()
        for name, field in self.fields.items():
            group = self._group_of(name)
            if group and group in self.group_errors and group not in groups_shown:
                groups_shown.add(group)
                for message in self.group_errors[group]:
                    found.append(
                        {"anchor": f"id_{name}", "label": self.GROUPS[group], "message": message}
                    )
            bound = self[name]
            for message in bound.errors:
                anchor = bound.auto_id
                if isinstance(field.widget, forms.CheckboxSelectMultiple):
                    anchor = f"{anchor}_0"
                found.append({"anchor": anchor, "label": field.label, "message": message})
        return found

    # --- what the POST says ---------------------------------------------------------------

    def clean(self):
        data = super().clean()
        ranks = [(data[rank_field(c)], c) for c in MessageChannel.values if data.get(rank_field(c))]
        if len({rank for rank, _channel in ranks}) != len(ranks):
            self.add_group_error("channels", _("Give each allowed channel a different place."))
        return data

    def is_valid(self) -> bool:
        return super().is_valid() and not self.group_errors

    def add_group_error(self, group: str, message: str) -> None:
        self.group_errors.setdefault(group, []).append(str(message))
        for name in self._group_fields(group):
            field = self.fields[name]
            described = [f"{group}-error"] + ([f"id_{name}_helptext"] if field.help_text else [])
            field.widget.attrs["aria-invalid"] = "true"
            field.widget.attrs["aria-describedby"] = " ".join(described)

    def add_error(self, field, error):
        super().add_error(field, error)
        # Django describes single inputs by their errors itself, not those in a fieldset.
        for name in self._errors:
            if name in self.fields and isinstance(
                self.fields[name].widget, forms.CheckboxSelectMultiple
            ):
                self.fields[name].widget.attrs["aria-describedby"] = f"id_{name}_error"

    def add_service_errors(self, problems: dict[str, list[str]]) -> None:
        """Show a service's refusal next to the inputs it is about."""
        for key, messages in problems.items():
            if key in self.GROUPS:
                for message in messages:
                    self.add_group_error(key, message)
                continue
            name = self.SERVICE_FIELDS.get(key)
            if key.startswith("attribute:"):
                name = attribute_field(key.removeprefix("attribute:"))
            if name in self.fields:
                self.add_error(name, messages)
            else:
                self.add_error(None, messages)

    def _group_fields(self, group: str) -> list[str]:
        if group == "channels":
            return [rank_field(channel) for channel in MessageChannel.values]
        return ["marketing_week", "marketing_month"]

    def _group_of(self, name: str) -> str | None:
        for group in self.GROUPS:
            if name in self._group_fields(group):
                return group
        return None

    def consent_choices(self) -> dict[tuple[str, str], bool]:
        return {
            (purpose, channel): bool(self.cleaned_data.get(consent_field(purpose, channel)))
            for purpose in Purpose.values
            for channel in MessageChannel.values
        }

    def consent_changes(self) -> dict[tuple[str, str], bool]:
        """Only the boxes whose state differs from what is recorded now."""
        current = self.centre["consents"]
        return {
            key: value for key, value in self.consent_choices().items() if current[key] != value
        }

    def preferences_data(self) -> dict:
        data = self.cleaned_data
        ranked = sorted(
            (data[rank_field(c)], c) for c in MessageChannel.values if data.get(rank_field(c))
        )
        preference = self.centre["preference"]
        caps = dict(preference.purpose_caps or {}) if preference else {}
        caps.pop("marketing", None)
        week, month = data.get("marketing_week"), data.get("marketing_month")
        if week is not None or month is not None:
            caps["marketing"] = {"week": week, "month": month}
        return {
            "channels": [channel for _rank, channel in ranked],
            "topics": list(data.get("topics") or []),
            "max_per_week": data.get("max_per_week"),
            "max_per_month": data.get("max_per_month"),
            "purpose_caps": caps,
            "quiet_start": data.get("quiet_start"),
            "quiet_end": data.get("quiet_end"),
            "quiet_days": sorted(data.get("quiet_days") or []),
            "accessibility": list(data.get("accessibility") or []),
            "marketing_paused_until": data.get("marketing_paused_until"),
        }

    def profile_data(self) -> dict:
        return {
            "language": self.cleaned_data["language"],
            "time_zone": self.cleaned_data["time_zone"],
        }

    def attribute_changes(self) -> dict[str, str]:
        changes = {}
        for attribute in self.centre["attributes"]:
            value = self.cleaned_data[attribute_field(attribute.key)].strip()
            if value != attribute.value:
                changes[attribute.key] = value
        return changes
