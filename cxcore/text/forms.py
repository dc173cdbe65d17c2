"""Console forms of the text area: a topic of the taxonomy, and the language discovery reads."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cxcore.console.forms import form_errors_from

LANGUAGE_CHOICES = [("fr", _("French")), ("en", _("English"))]
TERM_LIST_FIELDS = ("terms_en", "terms_fr", "exclusions_en", "exclusions_fr")
TERMS_HELP = _(
    "One per line: a word (“parcel”, which also finds “parcels”), a phrase (“pick-up point”), "
    "or the start of a word ending with * (“deliver*” finds “delivered” and “delivering”; at "
    "least 3 letters before the *). Capitals and accents do not matter."
)
EXCLUSIONS_HELP = _(
    "One per line, written like terms: when one of these is in the same sentence, the match "
    "does not count (“free delivery” is no complaint about delivery)."
)


def _term_list_field(label, help_text, language: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "lang": language}),
        help_text=help_text,
    )


class TopicForm(forms.Form):
    """A topic's fields in plain inputs; names, terms and the parent are checked by the
    service, which reports every problem at once."""

    code = forms.CharField(
        label=_("Code"),
        max_length=50,
        required=False,
        help_text=_(
            "Lower-case letters, digits, “.”, “-” or “_”, such as delivery.delay. It never "
            "changes: stored results and the API name topics by code."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    parent = forms.ChoiceField(label=_("Under"), required=False)
    name_en = forms.CharField(
        label=_("Name (English)"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"lang": "en"}),
    )
    name_fr = forms.CharField(
        label=_("Name (French)"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"lang": "fr"}),
    )
    terms_en = _term_list_field(_("Terms (English)"), TERMS_HELP, "en")
    terms_fr = _term_list_field(_("Terms (French)"), TERMS_HELP, "fr")
    exclusions_en = _term_list_field(_("Exclusions (English)"), EXCLUSIONS_HELP, "en")
    exclusions_fr = _term_list_field(_("Exclusions (French)"), EXCLUSIONS_HELP, "fr")
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("A switched-off topic, and every topic under it, is no longer looked for."),
    )
    position = forms.IntegerField(
        label=_("Position among its siblings"),
        min_value=0,
        max_value=10_000,
        initial=0,
        help_text=_("Smaller comes first; equal positions are ordered by code."),
    )

    def __init__(self, *args, parents: list[tuple[str, str]], editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.fields["parent"].choices = [("", _("Nothing: a top-level topic")), *parents]
        if editing:
            # A browser cannot send another code: the field is shown, never read.
            self.fields["code"].disabled = True

    @classmethod
    def for_topic(cls, topic, *, parents, data=None):
        return cls(
            data,
            parents=parents,
            editing=True,
            initial={
                "code": topic.code,
                "parent": topic.parent.code if topic.parent_id else "",
                "name_en": topic.name_en,
                "name_fr": topic.name_fr,
                **{name: "\n".join(getattr(topic, name)) for name in TERM_LIST_FIELDS},
                "active": topic.active,
                "position": topic.position,
            },
        )

    def _clean_lines(self, name: str) -> list[str]:
        return [line.strip() for line in self.cleaned_data[name].splitlines() if line.strip()]

    def clean_terms_en(self):
        return self._clean_lines("terms_en")

    def clean_terms_fr(self):
        return self._clean_lines("terms_fr")

    def clean_exclusions_en(self):
        return self._clean_lines("exclusions_en")

    def clean_exclusions_fr(self):
        return self._clean_lines("exclusions_fr")

    def topic_data(self) -> dict:
        """The fields as topic_create and topic_update take them (parent by code)."""
        data = dict(self.cleaned_data)
        data["parent"] = data["parent"] or None
        if self.editing:
            del data["code"]
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's problems next to their field; one term's problem (`terms_en.3`)
        goes to its list, naming the term."""
        if not hasattr(exc, "error_dict"):
            form_errors_from(self, exc)
            return
        by_field: dict[str, list] = {}
        for name, errors in exc.error_dict.items():
            field, _dot, index = name.partition(".")
            if index.isdigit() and field in TERM_LIST_FIELDS and self.is_bound:
                lines = self.cleaned_data.get(field) or []
                term = lines[int(index)] if int(index) < len(lines) else ""
                errors = [
                    ValidationError(
                        _("“%(term)s”: %(problem)s") % {"term": term, "problem": message}
                    )
                    for error in errors
                    for message in error.messages
                ]
            by_field.setdefault(field if index.isdigit() else name, []).extend(errors)
        form_errors_from(self, ValidationError(by_field))


class DiscoveryForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of the comments"), choices=LANGUAGE_CHOICES)
