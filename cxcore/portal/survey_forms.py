"""The survey page's inputs: what a step posts, as answers, and each question as it is shown."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from cxcore.feedback.models import SCALES, Question, QuestionType

WHOLE_NUMBER = re.compile(r"-?\d{1,3}")
YES_NO = {"yes": True, "no": False}


def field_name(question: Question) -> str:
    return f"q_{question.key}"


def posted_answers(questions: list[Question], data) -> dict[str, object]:
    """The step's answers by question key (None when left empty), as the service takes them.

    Anything unexpected is passed on as posted, for the service to refuse and name.
    """
    answers: dict[str, object] = {}
    for question in questions:
        name = field_name(question)
        if question.type == QuestionType.MULTIPLE:
            answers[question.key] = data.getlist(name) or None
            continue
        raw = data.get(name)
        if raw is None or (question.type != QuestionType.TEXT and not raw.strip()):
            answers[question.key] = None
        elif question.type == QuestionType.TEXT:
            # Browsers send line breaks as CRLF but count them as one character for maxlength.
            answers[question.key] = raw.replace("\r\n", "\n")
        elif question.type == QuestionType.YES_NO:
            answers[question.key] = YES_NO.get(raw.strip(), raw)
        elif question.type == QuestionType.SINGLE:
            answers[question.key] = raw.strip()
        else:  # a score
            raw = raw.strip()
            answers[question.key] = int(raw) if WHOLE_NUMBER.fullmatch(raw) else raw
    return answers


def _scale_ends(question: Question) -> tuple[str, str]:
    low, high = question.scale_min, question.scale_max
    if question.type == QuestionType.NPS:
        return _("%d = not at all likely") % low, _("%d = extremely likely") % high
    if question.type == QuestionType.CSAT:
        return _("%d = very dissatisfied") % low, _("%d = very satisfied") % high
    if question.type == QuestionType.CES:
        return _("%d = very difficult") % low, _("%d = very easy") % high
    return _("%d = very poor") % low, _("%d = excellent") % high


def _checked(value, option) -> bool:
    if isinstance(value, list):
        return option in value
    return value == option


def question_fields(
    questions: list[Question], *, language: str, values: dict, problems: dict[str, list[str]]
) -> list[dict]:
    """Each question as the template draws it: its inputs' ids, options, hint and errors."""
    fields = []
    for question in questions:
        name = field_name(question)
        value = values.get(question.key)
        errors = problems.get(question.key, [])
        field = {
            "key": question.key,
            "name": name,
            "id": name,
            "text": getattr(question, f"text_{language}"),
            "required": question.required,
            "errors": errors,
            "error_id": f"{name}_error",
            "hint_id": f"{name}_hint",
            "options": [],
        }
        if question.type == QuestionType.TEXT:
            field.update(
                kind="text",
                value=value if isinstance(value, str) else "",
                max_length=question.max_length,
                hint=_("At most %d characters.") % question.max_length,
            )
        else:
            if question.type in SCALES or question.type == QuestionType.RATING:
                field["kind"] = "scale"
                field["ends"] = _scale_ends(question)
                options = [
                    (str(n), str(n), n) for n in range(question.scale_min, question.scale_max + 1)
                ]
            elif question.type == QuestionType.YES_NO:
                field["kind"] = "choice"
                options = [("yes", _("Yes"), True), ("no", _("No"), False)]
            else:
                field["kind"] = "choice"
                options = [
                    (choice["value"], choice.get(language) or choice["value"], choice["value"])
                    for choice in question.choices
                ]
            field["multiple"] = question.type == QuestionType.MULTIPLE
            if field["multiple"]:
                field["hint"] = _("Choose as many as you like.")
            field["options"] = [
                {
                    "value": posted,
                    "label": label,
                    "id": f"{name}_{n}",
                    "checked": value is not None and _checked(value, answer),
                }
                for n, (posted, label, answer) in enumerate(options)
            ]
        # Errors link to the first input of the question, as the error summary does.
        field["anchor"] = field["options"][0]["id"] if field["options"] else field["id"]
        has_hint = bool(field.get("hint") or field.get("ends"))
        described = ([field["hint_id"]] if has_hint else []) + (
            [field["error_id"]] if errors else []
        )
        field["described_by"] = " ".join(described)
        fields.append(field)
    return fields
