"""Forms of the interaction pages: filters, CSV upload and column mapping."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cxcore.interactions.csv_import import ENCODINGS
from cxcore.interactions.ingest import ALL_FIELDS, REQUIRED_FIELDS
from cxcore.interactions.models import Channel, Touchpoint

FIELD_LABELS = {
    "occurred_at": _("Date and time"),
    "touchpoint": _("Touchpoint code"),
    "channel": _("Channel"),
    "direction": _("Direction"),
    "kind": _("Kind"),
    "outcome": _("Outcome"),
    "employee": _("Employee code"),
    "team": _("Team code"),
    "partner": _("Partner code"),
    "site": _("Site code"),
    "note": _("Note"),
    "source": _("Source system"),
    "external_id": _("Interaction id in the source"),
    "customer": _("cxcore customer reference"),
    "customer_external_id": _("Customer id in the source"),
    "email": _("Email"),
    "phone": _("Phone"),
    "loyalty_card": _("Loyalty card"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "language": _("Language"),
}


class InteractionFilterForm(forms.Form):
    touchpoint = forms.ModelChoiceField(
        label=_("Touchpoint"),
        required=False,
        queryset=Touchpoint.objects.all(),
        to_field_name="code",
        empty_label=_("Any touchpoint"),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any channel"))] + Channel.choices
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class UploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        choices=[(e, e.upper()) for e in ENCODINGS],
        initial="utf-8",
        help_text=_("UTF-8 unless the file comes from an old Excel on Windows (CP1252)."),
    )
    source = forms.SlugField(
        label=_("Source system"),
        initial="import",
        max_length=50,
        help_text=_("Rows without a source column are filed under this code."),
    )


class MappingForm(forms.Form):
    """One select per cxcore field, listing the file's columns."""

    def __init__(self, *args, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in this file —"))] + [(h, h) for h in headers]
        for name in ALL_FIELDS:
            if name == "metadata":
                continue
            self.fields[name] = forms.ChoiceField(
                label=FIELD_LABELS[name], choices=choices, required=False
            )
            self.fields[name].is_required_field = name in REQUIRED_FIELDS

    def mapping(self) -> dict[str, str]:
        return {name: header for name, header in self.cleaned_data.items() if header}
