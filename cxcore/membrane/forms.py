"""Console forms of the membrane: policies, messages, campaigns, consents recorded by staff."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cxcore.customers.models import Segment
from cxcore.interactions.models import Team
from cxcore.membrane.models import (
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
