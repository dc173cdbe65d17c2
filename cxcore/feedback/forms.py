"""Console forms of surveys: the builder's rows, triggers, kiosks, answers keyed in by agents."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cxcore.feedback.models import SCALES, QuestionType, SurveyKind
from cxcore.feedback.services import CONDITION_OPS, PAPER_BATCH_MAX
from cxcore.interactions.models import Site, Touchpoint
from cxcore.membrane.queries import messages_for_purpose

# Service field of a question's problem → the builder row's field that shows it.
QUESTION_ERROR_FIELDS = {"show_if": "condition_question"}
YES_WORDS = {"yes", "true", "oui", "vrai", "1"}
NO_WORDS = {"no", "false", "non", "faux", "0"}
CONDITION_LABELS = {
    "eq": _("is"),
    "ne": _("is not"),
    "lte": _("at most"),
    "gte": _("at least"),
    "in": _("one of"),
}


class SurveyForm(forms.Form):
    # Name and titles are checked by the service, which reports every problem at once.
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=SurveyKind.choices)
    touchpoint = forms.ModelChoiceField(
        label=_("Touchpoint"),
        queryset=Touchpoint.objects.filter(is_active=True),
        to_field_name="code",
        required=False,
        help_text=_("Needed by a transactional survey: the touchpoint it asks about."),
    )
    title_fr = forms.CharField(label=_("Title (French)"), max_length=200, required=False)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    intro_fr = forms.CharField(
        label=_("Introduction (French)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    intro_en = forms.CharField(
        label=_("Introduction (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    thanks_fr = forms.CharField(
        label=_("Thank-you text (French)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    thanks_en = forms.CharField(
        label=_("Thank-you text (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    invitation_message = forms.ModelChoiceField(
        label=_("Invitation message"),
        queryset=messages_for_purpose("feedback"),
        required=False,
        help_text=_(
            "A membrane message whose purpose is feedback surveys; {survey_link} and "
            "{survey_code} in its text become each customer's own link and code."
        ),
    )

    @classmethod
    def for_survey(cls, survey):
        return cls(
            initial={
                "name": survey.name,
                "kind": survey.kind,
                "touchpoint": survey.touchpoint,
                "invitation_message": survey.invitation_message_id,
                **{
                    name: getattr(survey, name)
                    for name in ("title_fr", "title_en", "intro_fr", "intro_en")
                    + ("thanks_fr", "thanks_en")
                },
            }
        )

    def survey_data(self) -> dict:
        """The survey's own fields as the services take them (touchpoint by code)."""
        data = dict(self.cleaned_data)
        data["touchpoint"] = data["touchpoint"].code if data["touchpoint"] else None
        message = data.pop("invitation_message")
        data["invitation_message"] = message.pk if message else None
        return data


class QuestionRowForm(forms.Form):
    """One question of the builder, in plain fields; `question_data` turns it into JSON."""

    key = forms.CharField(label=_("Key"), max_length=50, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=QuestionType.choices)
    text_fr = forms.CharField(label=_("Question (French)"), max_length=500, required=False)
    text_en = forms.CharField(label=_("Question (English)"), max_length=500, required=False)
    required = forms.BooleanField(label=_("Answer required"), required=False)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: value | French label | English label."),
    )
    scale_min = forms.IntegerField(label=_("Scale from"), required=False)
    scale_max = forms.IntegerField(label=_("Scale to"), required=False)
    max_length = forms.IntegerField(label=_("Longest answer (characters)"), required=False)
    condition_question = forms.CharField(
        label=_("Only if the answer to (key)"), max_length=50, required=False
    )
    condition_op = forms.ChoiceField(
        label=_("Comparison"),
        choices=[(op, CONDITION_LABELS[op]) for op in CONDITION_OPS],
        required=False,
    )
    condition_value = forms.CharField(
        label=_("Value"),
        max_length=200,
        required=False,
        help_text=_("With “one of”, separate values with commas."),
    )

    def clean_choices(self):
        text = self.cleaned_data["choices"]
        choices = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != 3 or not all(parts):
                raise ValidationError(
                    _("Line %(number)d: write value | French label | English label.")
                    % {"number": number}
                )
            choices.append({"value": parts[0], "fr": parts[1], "en": parts[2]})
        return choices

    def is_blank(self) -> bool:
        """A row added and left empty, which saving skips."""
        return not any(
            str(self[name].value() or "").strip()
            for name in ("key", "text_fr", "text_en", "choices", "condition_question")
        )

    def raw(self) -> dict:
        """The row as typed, valid or not: to redraw it after adding, removing or moving rows."""
        return {name: self[name].value() for name in self.fields}


def row_initial(question) -> dict:
    """A stored question (or its exported JSON) as a builder row."""
    get = question.get if isinstance(question, dict) else lambda name: getattr(question, name)
    condition = get("show_if") or {}
    value = condition.get("value", "")
    if isinstance(value, list):
        value = ", ".join(_condition_text(v) for v in value)
    else:
        value = _condition_text(value)
    kind = get("type")
    return {
        "key": get("key"),
        "type": kind,
        "text_fr": get("text_fr"),
        "text_en": get("text_en"),
        "required": get("required"),
        "choices": "\n".join(f"{c['value']} | {c['fr']} | {c['en']}" for c in get("choices") or []),
        "scale_min": get("scale_min") if kind == QuestionType.RATING else None,
        "scale_max": get("scale_max") if kind == QuestionType.RATING else None,
        "max_length": get("max_length") if kind == QuestionType.TEXT else None,
        "condition_question": condition.get("question", ""),
        "condition_op": condition.get("op", "eq"),
        "condition_value": value,
    }


def _condition_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _condition_value(text: str, target_type: str | None):
    """A condition's value as typed, read the way the target question answers."""
    text = text.strip()
    if target_type in SCALES or target_type == QuestionType.RATING:
        try:
            return int(text)
        except ValueError:
            return text
    if target_type == QuestionType.YES_NO:
        if text.lower() in YES_WORDS:
            return True
        if text.lower() in NO_WORDS:
            return False
    return text


def questions_from_rows(rows: list[dict]) -> list[dict]:
    """Cleaned builder rows as the services' questions JSON (`questions_clean` checks the rest)."""
    types = {row["key"].strip().lower(): row["type"] for row in rows if row["key"]}
    questions = []
    for row in rows:
        question = {
            "key": row["key"].strip().lower(),
            "type": row["type"],
            "text_fr": row["text_fr"],
            "text_en": row["text_en"],
            "required": row["required"],
            "choices": row["choices"],
        }
        if row["scale_min"] is not None or row["scale_max"] is not None:
            question["scale_min"], question["scale_max"] = row["scale_min"], row["scale_max"]
        if row["max_length"] is not None:
            question["max_length"] = row["max_length"]
        target = row["condition_question"].strip().lower()
        if target:
            op = row["condition_op"] or "eq"
            if op == "in":
                value = [
                    _condition_value(part, types.get(target))
                    for part in row["condition_value"].split(",")
                    if part.strip()
                ]
            else:
                value = _condition_value(row["condition_value"], types.get(target))
            question["show_if"] = {"question": target, "op": op, "value": value}
        questions.append(question)
    return questions


QuestionRowFormSet = forms.formset_factory(QuestionRowForm, extra=0)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Survey file (JSON)"), help_text=_("A survey exported from cxcore.")
    )


class TriggerForm(forms.Form):
    touchpoint = forms.ModelChoiceField(
        label=_("Touchpoint"), queryset=Touchpoint.objects.all(), to_field_name="code"
    )
    delay_minutes = forms.IntegerField(label=_("Delay after the interaction (minutes)"), initial=60)
    sampling_percent = forms.IntegerField(label=_("Sample (%)"), initial=100)
    max_age_days = forms.IntegerField(label=_("Only interactions newer than (days)"), initial=7)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def trigger_data(self) -> dict:
        return {**self.cleaned_data, "touchpoint": self.cleaned_data["touchpoint"].code}


class KioskForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.all(), to_field_name="code", required=False
    )
    max_per_minute = forms.IntegerField(label=_("Answers per minute at most"), initial=6)

    def kiosk_data(self) -> dict:
        site = self.cleaned_data["site"]
        return {**self.cleaned_data, "site": site.code if site else None}


class PaperForm(forms.Form):
    count = forms.IntegerField(
        label=_("Questionnaires to print"), min_value=1, max_value=PAPER_BATCH_MAX, initial=20
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=[("fr", _("French")), ("en", _("English"))]
    )


class ShortCodeForm(forms.Form):
    short_code = forms.CharField(
        label=_("Code printed on the questionnaire"),
        max_length=30,
        help_text=_("Capitals, spaces and dashes do not matter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


class PhoneSurveyForm(forms.Form):
    survey = forms.ModelChoiceField(label=_("Survey"), queryset=None)

    def __init__(self, *args, surveys, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = surveys


class AnswersForm(forms.Form):
    """The survey's questions, all on one page; the service checks answers and branching."""

    def __init__(self, *args, survey, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(survey.questions.all())
        for number, question in enumerate(self.questions, start=1):
            self.fields[question.key] = _answer_field(question, language, number)

    def answers(self) -> dict:
        return {
            key: value for key, value in self.cleaned_data.items() if value not in (None, "", [])
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        """`answers.<key>` problems next to their question; the others above the form."""
        by_name = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
        for name, errors in by_name.items():
            key = name.removeprefix("answers.") if name else None
            self.add_error(key if key in self.fields else None, errors)


def _answer_field(question, language: str, number: int) -> forms.Field:
    # Numbered as on the printed questionnaire, which the agent reads from.
    label = f"{number}. {question.text_fr if language == 'fr' else question.text_en}"
    common = {"label": label, "required": False}
    if question.type in SCALES or question.type == QuestionType.RATING:
        numbers = range(question.scale_min, question.scale_max + 1)
        return forms.TypedChoiceField(
            choices=[(n, str(n)) for n in numbers],
            coerce=int,
            empty_value=None,
            widget=forms.RadioSelect(attrs={"class": "scale"}),
            **common,
        )
    if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        choices = [
            (c["value"], c[language if language in ("fr", "en") else "fr"])
            for c in question.choices
        ]
        if question.type == QuestionType.SINGLE:
            return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    if question.type == QuestionType.YES_NO:
        return forms.TypedChoiceField(
            choices=[("yes", _("Yes")), ("no", _("No"))],
            coerce=lambda value: value == "yes",
            empty_value=None,
            widget=forms.RadioSelect,
            **common,
        )
    return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=False, **common)
