"""A survey's complete responses as spreadsheets: CSV (streamed) and XLSX, one row per response.

Every cell and header that a spreadsheet could read as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.customers.models import Customer
from cxcore.feedback.models import Answer, AnswerChannel, QuestionType, Response, Survey
from cxcore.feedback.queries import response_conditions
from cxcore.interactions.models import Partner, Site, Team, Touchpoint
from cxcore.lib.csvsafe import csv_lines, safe_cell

CHUNK = 2000
# Characters XML 1.0 (and so XLSX) cannot hold; a pasted comment may carry them.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _answer_value(question_type: str, number, text, choices, flag):
    if question_type == QuestionType.TEXT:
        return text
    if question_type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return ";".join(str(value) for value in choices or ())
    if question_type == QuestionType.YES_NO:
        return flag
    return number


def _customer_reference(customer_id: int | None) -> str:
    return Customer(pk=customer_id).reference if customer_id else ""


def export_rows(
    survey: Survey,
    *,
    include_customer: bool = False,
    touchpoint_id=None,
    channel=None,
    date_from=None,
    date_to=None,
) -> Iterator[list]:
    """The header, then one row per complete response (oldest first), as plain values.

    The customer's reference is a column only when the viewer may see personal data.
    Responses are read in chunks that follow the (survey, status, completed_at) index, each
    chunk with its answers in one more query: the first row comes at once, memory stays flat.
    """
    questions = list(survey.questions.all())
    header = [
        _("response"),
        _("completed at"),
        _("channel"),
        _("language"),
        _("touchpoint"),
        _("team"),
        _("partner"),
        _("site"),
        _("NPS category"),
    ]
    if include_customer:
        header.append(_("customer"))
    yield header + [q.key for q in questions]

    # Reference tables are small: their names once, in the reader's language.
    channels = {value: str(label) for value, label in AnswerChannel.choices}
    touchpoints = {t.pk: t.name for t in Touchpoint.objects.all()}
    teams = dict(Team.objects.values_list("pk", "name"))
    partners = dict(Partner.objects.values_list("pk", "name"))
    sites = dict(Site.objects.values_list("pk", "name"))
    _any, complete = response_conditions(
        "", touchpoint_id=touchpoint_id, channel=channel, date_from=date_from, date_to=date_to
    )
    responses = (
        Response.objects.filter(survey=survey)
        .filter(complete)
        .order_by("completed_at", "id")
        .values_list(
            "id",
            "completed_at",
            "channel",
            "language",
            "touchpoint_id",
            "team_id",
            "partner_id",
            "site_id",
            "nps_category",
            "customer_id",
        )
    )
    after = Q()
    while True:
        chunk = list(responses.filter(after)[:CHUNK])
        if not chunk:
            return
        answers: dict[int, dict[int, tuple]] = defaultdict(dict)
        for response_id, question_id, *value in Answer.objects.filter(
            response_id__in=[row[0] for row in chunk]
        ).values_list("response_id", "question_id", "number", "text", "choices", "flag"):
            answers[response_id][question_id] = value
        for pk, at, via, language, tp, team, partner, site, category, customer in chunk:
            row = [
                pk,
                timezone.localtime(at),
                channels.get(via, via),
                language,
                touchpoints.get(tp, ""),
                teams.get(team, ""),
                partners.get(partner, ""),
                sites.get(site, ""),
                category,
            ]
            if include_customer:
                row.append(_customer_reference(customer))
            given = answers.get(pk, {})
            for question in questions:
                value = given.get(question.pk)
                row.append(_answer_value(question.type, *value) if value else None)
            yield row
        last_pk, last_at = chunk[-1][0], chunk[-1][1]
        after = Q(completed_at__gt=last_at) | Q(completed_at=last_at, id__gt=last_pk)


def csv_stream(rows: Iterable[list]) -> Iterator[str]:
    """CSV lines for a StreamingHttpResponse; datetimes as ISO 8601 with their offset."""
    return csv_lines(
        [value.isoformat() if isinstance(value, datetime) else value for value in row]
        for row in rows
    )


def _xlsx_cell(value):
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        # Spreadsheets hold no time zone: the local time the viewer reads everywhere else.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return _NOT_IN_XML.sub("", safe_cell(value))


def xlsx_write(rows: Iterable[list], file, *, title: str = "") -> None:
    """Write rows to `file` as an XLSX workbook, row by row (openpyxl's write-only mode)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title or _("Responses")))
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    workbook.save(file)


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in a sheet's name, and names over 31 characters.
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Responses"
