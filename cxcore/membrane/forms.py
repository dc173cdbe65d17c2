"""Console forms of the membrane: policies, messages, campaigns, consents recorded by staff."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cxcore.customers.models import Segment
from cxcore.interactions.models import Team
from cxcore.membrane.models import (
    Accessibility,
    ConsentSource,
    DoNotContactReason,
    Message,
    MessageChannel,
    Purpose,
)

VARIANT_FIELDS = [
    (channel, language)
    for channel in ("email", "sms", "postal", "phone")
    for language in ("fr", "en")
]


class PolicyForm(forms.Form):
    consent_required = forms.BooleanField(label=_("Needs an opt-in"), required=False)
    relevance_minimum = forms.FloatField(
        label=_("Minimum relevance (share of topics)"), min_value=0, max_value=1
    )
    bad_experience_days = forms.IntegerField(
        label=_("Hold after a bad experience (days, 0 = off)"), min_value=0, max_value=3650
    )
    duplicate_days = forms.IntegerField(
        label=_("Same message not again within (days)"), min_value=0, max_value=3650
    )
    survey_recontact_days = forms.IntegerField(
        label=_("One survey per (days, 0 = off)"), min_value=0, max_value=3650
    )
    week_cap = forms.IntegerField(
        label=_("At most per week (blank = no limit)"), min_value=0, max_value=100, required=False
    )
    month_cap = forms.IntegerField(
        label=_("At most per month (blank = no limit)"), min_value=0, max_value=100, required=False
    )
    quiet_start = forms.TimeField(label=_("Quiet hours from"), required=False)
    quiet_end = forms.TimeField(label=_("Quiet hours until"), required=False)


class MessageForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    topics = forms.CharField(
        label=_("Topics"),
        required=False,
        help_text=_("Comma-separated, e.g. delivery, price."),
        max_length=500,
    )
    priority = forms.IntegerField(label=_("Priority (1-5)"), min_value=1, max_value=5, initial=3)
    expires_at = forms.DateTimeField(label=_("Expires"), required=False)
    team = forms.ModelChoiceField(
        label=_("Sender team"), queryset=Team.objects.all(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for channel, language in VARIANT_FIELDS:
            label = f"{MessageChannel(channel).label} ({language.upper()})"
            if channel == "email":
                self.fields[f"{channel}_{language}_subject"] = forms.CharField(
                    label=_("%(variant)s subject") % {"variant": label},
                    required=False,
                    max_length=200,
                )
            self.fields[f"{channel}_{language}_body"] = forms.CharField(
                label=_("%(variant)s text") % {"variant": label},
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def variants(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "channel": channel,
                "language": language,
                "subject": data.get(f"{channel}_{language}_subject", ""),
                "body": data[f"{channel}_{language}_body"],
            }
            for channel, language in VARIANT_FIELDS
            if data.get(f"{channel}_{language}_body", "").strip()
        ]


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    message = forms.ModelChoiceField(label=_("Message"), queryset=Message.objects.all())
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.all())
    scheduled_at = forms.DateTimeField(
        label=_("Send from"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class StaffConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=MessageChannel.choices)
    granted = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("1", _("Given")), ("0", _("Withdrawn"))],
        coerce=lambda value: value == "1",
    )
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[(c.value, c.label) for c in ConsentSource if c != ConsentSource.PREFERENCE_CENTRE],
        initial=ConsentSource.STAFF,
    )
    wording = forms.CharField(
        label=_("Exact wording the customer agreed to or refused"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Blank for now; the date on a paper form otherwise."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class DoNotContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=MessageChannel.choices)
    reason = forms.ChoiceField(label=_("Reason"), choices=DoNotContactReason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class SendMessageForm(forms.Form):
    message = forms.ModelChoiceField(label=_("Message"), queryset=Message.objects.all())


WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class StaffPreferenceForm(forms.Form):
    """Preferences as a customer tells them to an agent (phone, counter, letter)."""

    channels = forms.CharField(
        label=_("Channels, in order of preference"),
        required=False,
        help_text=_("Comma-separated among: email, sms, postal, phone, webhook."),
    )
    topics = forms.CharField(label=_("Topics of interest"), required=False, max_length=500)
    max_per_week = forms.IntegerField(
        label=_("At most per week"), required=False, min_value=0, max_value=100
    )
    max_per_month = forms.IntegerField(
        label=_("At most per month"), required=False, min_value=0, max_value=100
    )
    marketing_week = forms.IntegerField(
        label=_("Marketing at most per week"), required=False, min_value=0, max_value=100
    )
    marketing_month = forms.IntegerField(
        label=_("Marketing at most per month"), required=False, min_value=0, max_value=100
    )
    quiet_start = forms.TimeField(label=_("Quiet from"), required=False)
    quiet_end = forms.TimeField(label=_("Quiet until"), required=False)
    quiet_days = forms.TypedMultipleChoiceField(
        label=_("Quiet days"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    accessibility = forms.MultipleChoiceField(
        label=_("Accessibility needs"),
        choices=Accessibility.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    marketing_paused_until = forms.DateField(
        label=_("Pause marketing until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    @classmethod
    def for_preference(cls, preference):
        if preference is None:
            return cls()
        caps = (preference.purpose_caps or {}).get("marketing", {})
        return cls(
            initial={
                "channels": ", ".join(preference.channels or []),
                "topics": ", ".join(preference.topics or []),
                "max_per_week": preference.max_per_week,
                "max_per_month": preference.max_per_month,
                "marketing_week": caps.get("week"),
                "marketing_month": caps.get("month"),
                "quiet_start": preference.quiet_start,
                "quiet_end": preference.quiet_end,
                "quiet_days": preference.quiet_days,
                "accessibility": preference.accessibility,
                "marketing_paused_until": preference.marketing_paused_until,
            }
        )

    def preference_data(self, current=None) -> dict:
        """The form as membrane.services.preferences_save takes it."""
        data = self.cleaned_data

        def words(text):
            return [w.strip().lower() for w in text.split(",") if w.strip()]

        caps = dict((current.purpose_caps or {}) if current else {})
        marketing = {
            length: data[f"marketing_{length}"]
            for length in ("week", "month")
            if data[f"marketing_{length}"] is not None
        }
        if marketing:
            caps["marketing"] = marketing
        else:
            caps.pop("marketing", None)
        return {
            "channels": words(data["channels"]),
            "topics": words(data["topics"]),
            "max_per_week": data["max_per_week"],
            "max_per_month": data["max_per_month"],
            "purpose_caps": caps,
            "quiet_start": data["quiet_start"],
            "quiet_end": data["quiet_end"],
            "quiet_days": sorted(data["quiet_days"]),
            "accessibility": data["accessibility"],
            "marketing_paused_until": data["marketing_paused_until"],
        }
