"""Printable paper questionnaires: one per invitation, with the short code an agent keys in."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import override
from fpdf import FPDF

from cxcore.feedback.models import SCALES, Invitation, Question, QuestionType
from cxcore.feedback.services import short_code_display
from cxcore.membrane.letters import _latin1

BOX = 5  # mm, a box to tick
TEXT_SIZE = 11
LINE = 6


class _Questionnaires(FPDF):
    code = ""

    def header(self):
        # Every page carries its code, so that a loose sheet finds its questionnaire again.
        if self.code:
            self.set_font("Helvetica", size=8)
            self.set_xy(-60, 8)
            self.cell(45, 4, self.code, align="R")
            self.set_xy(self.l_margin, 20)


def questionnaires_pdf(invitations: Iterable[Invitation]) -> bytes:
    """One questionnaire per invitation, each starting on its own page, in its language."""
    pdf = _Questionnaires(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    questions_of: dict[int, list[Question]] = {}
    for invitation in invitations:
        survey = invitation.survey
        if survey.pk not in questions_of:
            questions_of[survey.pk] = list(survey.questions.order_by("position"))
        with override(invitation.language):
            _questionnaire(pdf, invitation, questions_of[survey.pk])
    if pdf.page_no() == 0:
        pdf.add_page()
        pdf.set_font("Helvetica", size=TEXT_SIZE)
        pdf.cell(0, 10, _latin1(_("No questionnaire to print.")))
    pdf.set_title(_latin1(_("Questionnaires")))
    return bytes(pdf.output())


def _questionnaire(pdf: _Questionnaires, invitation: Invitation, questions: list[Question]):
    survey, language = invitation.survey, invitation.language
    code = short_code_display(invitation.short_code)
    pdf.code = code
    pdf.add_page()
    pdf.set_y(14)
    pdf.set_font("Helvetica", style="B", size=26)
    pdf.cell(0, 12, code, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(
        0,
        5,
        _latin1(_("An agent will key in your answers with this code")),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=16)
    title = survey.title_fr if language == "fr" else survey.title_en
    pdf.multi_cell(0, 8, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    intro = survey.intro_fr if language == "fr" else survey.intro_en
    if intro:
        pdf.set_font("Helvetica", size=TEXT_SIZE)
        pdf.multi_cell(0, LINE, _latin1(intro), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    numbers = {q.key: n for n, q in enumerate(questions, start=1)}
    by_key = {q.key: q for q in questions}
    for number, question in enumerate(questions, start=1):
        _question(pdf, number, question, language, numbers, by_key)
    thanks = survey.thanks_fr if language == "fr" else survey.thanks_en
    if thanks:
        pdf.ln(2)
        pdf.set_font("Helvetica", style="I", size=TEXT_SIZE)
        pdf.multi_cell(0, LINE, _latin1(thanks), new_x="LMARGIN", new_y="NEXT")


def _label(choice: dict, language: str) -> str:
    return choice.get(language) or choice.get("fr") or choice["value"]


def _question_height(question: Question) -> float:
    """About how tall the question prints, to keep it whole on one page."""
    if question.type == QuestionType.TEXT:
        return 2 * LINE + _text_lines(question) * 7
    if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return 2 * LINE + len(question.choices) * (BOX + 1.5)
    return 2 * LINE + BOX + 5


def _text_lines(question: Question) -> int:
    return max(2, min(6, question.max_length // 300))


def _question(pdf, number, question: Question, language, numbers, by_key):
    if pdf.will_page_break(_question_height(question)):
        pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=TEXT_SIZE)
    text = question.text_fr if language == "fr" else question.text_en
    if question.required:
        text += " *"
    pdf.multi_cell(0, LINE, _latin1(f"{number}. {text}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", style="I", size=9)
    hint = _hint(question, language, numbers, by_key)
    if hint:
        pdf.multi_cell(0, 4.5, _latin1(hint), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=TEXT_SIZE)
    if question.type in SCALES or question.type == QuestionType.RATING:
        _scale(pdf, range(question.scale_min, question.scale_max + 1))
    elif question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        for choice in question.choices:
            _box_line(pdf, _label(choice, language))
    elif question.type == QuestionType.YES_NO:
        x = pdf.l_margin
        for word in (_("Yes"), _("No")):
            pdf.rect(x, pdf.get_y(), BOX, BOX)
            pdf.set_xy(x + BOX + 2, pdf.get_y())
            pdf.cell(25, BOX, _latin1(word))
            x += 40
        pdf.set_xy(pdf.l_margin, pdf.get_y() + BOX + 1)
    else:
        for _line in range(_text_lines(question)):
            pdf.ln(7)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(3)


def _scale(pdf, numbers: range) -> None:
    """Boxes in a row, each with its number above."""
    step = min(14, (pdf.w - pdf.l_margin - pdf.r_margin) / len(numbers))
    y = pdf.get_y()
    pdf.set_font("Helvetica", size=9)
    for n, value in enumerate(numbers):
        x = pdf.l_margin + n * step
        pdf.set_xy(x, y)
        pdf.cell(BOX, 4, str(value), align="C")
        pdf.rect(x, y + 4.5, BOX, BOX)
    pdf.set_font("Helvetica", size=TEXT_SIZE)
    pdf.set_xy(pdf.l_margin, y + 4.5 + BOX + 1)


def _box_line(pdf, label: str) -> None:
    y = pdf.get_y()
    pdf.rect(pdf.l_margin, y, BOX, BOX)
    pdf.set_xy(pdf.l_margin + BOX + 3, y)
    pdf.multi_cell(0, BOX, _latin1(label), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def _hint(question: Question, language: str, numbers: dict, by_key: dict) -> str:
    """How to answer, and when to skip: paper cannot hide a question, so it says when."""
    parts = []
    if question.type == QuestionType.MULTIPLE:
        parts.append(_("Tick all that apply."))
    elif question.type in (QuestionType.SINGLE, QuestionType.YES_NO):
        parts.append(_("Tick one box."))
    elif question.type in SCALES or question.type == QuestionType.RATING:
        parts.append(
            _("Tick one box, from %(low)d to %(high)d.")
            % {"low": question.scale_min, "high": question.scale_max}
        )
    condition = question.show_if
    if condition and condition.get("question") in by_key:
        target = by_key[condition["question"]]
        values = (
            condition["value"] if isinstance(condition["value"], list) else [condition["value"]]
        )
        shown = ", ".join(_value_text(target, value, language) for value in values)
        templates = {
            "eq": _("Answer only if your answer to question %(number)d was %(value)s."),
            "ne": _("Answer only if your answer to question %(number)d was not %(value)s."),
            "lte": _("Answer only if your answer to question %(number)d was %(value)s or less."),
            "gte": _("Answer only if your answer to question %(number)d was %(value)s or more."),
            "in": _("Answer only if your answer to question %(number)d was one of: %(value)s."),
        }
        template = templates.get(condition["op"])
        if template:
            parts.append(template % {"number": numbers[target.key], "value": shown})
    return " ".join(parts)


def _value_text(target: Question, value, language: str) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    for choice in target.choices:
        if choice["value"] == value:
            return f"“{_label(choice, language)}”"
    return str(value)
