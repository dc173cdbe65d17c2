"""Forms of the customer pages; they only validate input, services do the work."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cxcore.customers.models import ContactKind, Language, LifecycleStage, Segment
from cxcore.interactions.models import Channel, Direction, Touchpoint


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"),
        required=False,
        choices=[("", _("Any stage"))] + LifecycleStage.choices,
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any language"))] + Language.choices
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        required=False,
        queryset=Segment.objects.all(),
        empty_label=_("Any segment"),
    )


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), required=False, max_length=100)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=100)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64)


class NewCustomerForm(ProfileForm):
    email = forms.CharField(label=_("Email"), required=False, max_length=320)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)

    def contact_points(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {"kind": kind, "value": data[kind], "source": "console"}
            for kind in ("email", "phone")
            if data.get(kind)
        ]


class InteractionEntryForm(forms.Form):
    """An agent writes down a contact as it happens (a call, a visit)."""

    touchpoint = forms.ModelChoiceField(
        label=_("Touchpoint"),
        queryset=Touchpoint.objects.none(),
        to_field_name="code",
        empty_label=None,
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices)
    kind = forms.SlugField(
        label=_("Kind"), required=False, max_length=50, help_text=_("e.g. call, visit, complaint")
    )
    outcome = forms.SlugField(
        label=_("Outcome"), required=False, max_length=50, help_text=_("e.g. resolved, long_wait")
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(is_active=True)


class ContactPointForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactKind.choices)
    value = forms.CharField(label=_("Value"), max_length=320)
    system = forms.CharField(
        label=_("System or network"),
        required=False,
        max_length=50,
        help_text=_("For external ids and social handles, e.g. shop or instagram."),
    )
    verified = forms.BooleanField(label=_("Verified"), required=False)


class AttributeForm(forms.Form):
    key = forms.SlugField(label=_("Attribute"), max_length=50)
    value = forms.CharField(label=_("Value"), max_length=500)
    channel = forms.ChoiceField(
        label=_("Declared by"),
        choices=[
            ("phone", _("Phone")),
            ("store", _("Store")),
            ("email", _("Email")),
            ("web", _("Web")),
            ("postal", _("Postal mail")),
            ("in_person", _("In person")),
        ],
    )


class MergeForm(forms.Form):
    other = forms.CharField(
        label=_("Customer to merge into this one"),
        max_length=20,
        help_text=_("Their reference, e.g. C0000042. They will point to this customer afterwards."),
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)

    def clean_other(self):
        value = self.cleaned_data["other"].strip().upper().lstrip("C").lstrip("0")
        if not value.isdigit():
            raise forms.ValidationError(_("Enter a customer reference such as C0000042."))
        return int(value)


class SegmentForm(forms.Form):
    """A segment built from a few plain questions, compiled into rules."""

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    lifecycle_stages = forms.MultipleChoiceField(
        label=_("Lifecycle stages"),
        required=False,
        choices=LifecycleStage.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any language"))] + Language.choices
    )
    intensity_min = forms.IntegerField(
        label=_("Intensity at least"), required=False, min_value=0, max_value=100
    )
    intensity_max = forms.IntegerField(
        label=_("Intensity at most"), required=False, min_value=0, max_value=100
    )
    has_contact = forms.ChoiceField(
        label=_("Has a contact point"),
        required=False,
        choices=[("", _("No condition"))] + ContactKind.choices,
    )
    attribute_key = forms.SlugField(label=_("Declared attribute"), required=False)
    attribute_value = forms.CharField(label=_("equal to"), required=False, max_length=500)
    touchpoint = forms.CharField(
        label=_("Interacted at touchpoint (code)"), required=False, max_length=50
    )
    channel = forms.CharField(label=_("Used channel (code)"), required=False, max_length=10)
    within_days = forms.IntegerField(
        label=_("within the last N days"), required=False, min_value=1, max_value=3650, initial=90
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("attribute_key")) != bool(data.get("attribute_value")):
            self.add_error("attribute_value", _("Give both the attribute and its value."))
        if (data.get("touchpoint") or data.get("channel")) and not data.get("within_days"):
            self.add_error("within_days", _("Say within how many days."))
        return data

    def rules(self) -> list[dict]:
        data = self.cleaned_data
        rules = []
        if data.get("lifecycle_stages"):
            rules.append(
                {"field": "lifecycle_stage", "op": "in", "value": list(data["lifecycle_stages"])}
            )
        if data.get("language"):
            rules.append({"field": "language", "op": "eq", "value": data["language"]})
        if data.get("intensity_min") is not None:
            rules.append({"field": "intensity", "op": "gte", "value": data["intensity_min"]})
        if data.get("intensity_max") is not None:
            rules.append({"field": "intensity", "op": "lte", "value": data["intensity_max"]})
        if data.get("has_contact"):
            rules.append({"field": "has_contact", "op": "eq", "value": data["has_contact"]})
        if data.get("attribute_key"):
            rules.append(
                {
                    "field": "attribute",
                    "op": "eq",
                    "value": {"key": data["attribute_key"], "value": data["attribute_value"]},
                }
            )
        if data.get("touchpoint"):
            rules.append(
                {
                    "field": "touchpoint",
                    "op": "within_days",
                    "value": {"code": data["touchpoint"], "days": data["within_days"]},
                }
            )
        if data.get("channel"):
            rules.append(
                {
                    "field": "channel",
                    "op": "within_days",
                    "value": {"code": data["channel"], "days": data["within_days"]},
                }
            )
        return rules

    @staticmethod
    def initial_from(segment: Segment) -> dict:
        initial = {"name": segment.name, "description": segment.description}
        for rule in segment.rules:
            name, op, value = rule["field"], rule["op"], rule["value"]
            if name == "lifecycle_stage":
                initial["lifecycle_stages"] = value
            elif name == "language":
                initial["language"] = value
            elif name == "intensity":
                initial["intensity_min" if op == "gte" else "intensity_max"] = value
            elif name == "has_contact":
                initial["has_contact"] = value
            elif name == "attribute":
                initial["attribute_key"], initial["attribute_value"] = value["key"], value["value"]
            elif name in ("touchpoint", "channel"):
                initial[name] = value["code"]
                initial["within_days"] = value["days"]
        return initial
