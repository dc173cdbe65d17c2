"""CSV imports of interactions: reading the file, mapping, row errors, replays, console and CLI."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from cxcore.cli import main as cli_main
from cxcore.customers.models import AuditEntry, ContactPoint, Customer
from cxcore.interactions.csv_import import (
    SAMPLE_BYTES,
    CsvFileError,
    csv_import,
    csv_layout,
    error_report_rows,
    mapping_guess,
)
from cxcore.interactions.models import ImportJob, Interaction
from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.lib.actor import Actor
from cxcore.lib.csvsafe import csv_text
from cxcore.test import BaseTestCase, make_user

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
HEADER = "external_id;date;point de contact;canal;courriel;téléphone;prénom;nom"
ASCII_HEADER = HEADER.replace("téléphone", "telephone").replace("prénom", "prenom")
GOOD_ROWS = [
    "v1;2026-03-01T10:00:00+01:00;store-visit;store;Marie@Example.org;06 12 34 56 78;Marie;Curie",
    "v2;2026-03-02T11:00:00+01:00;store-visit;phone;paul@example.org;;Paul;Martin",
    "v3;2026-03-03T12:00:00Z;store-visit;email;marie@example.org;;;",
]


def csv_file(*lines: str, encoding: str = "utf-8", bom: bool = False) -> bytes:
    data = "\r\n".join(lines).encode(encoding) + b"\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + data


@time_machine.travel(NOW, tick=False)
class CsvImportTestCase(BaseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.media_root = tempfile.mkdtemp(prefix="cxcore-test-media-")
        cls.addClassCleanup(shutil.rmtree, cls.media_root, ignore_errors=True)
        cls.enterClassContext(override_settings(MEDIA_ROOT=cls.media_root))
        super().setUpClass()

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.touchpoint = make_touchpoint("store-visit")

    def run_import(self, data: bytes, *, encoding: str | None = None, mapping=None, **kwargs):
        stream = io.BytesIO(data)
        layout = csv_layout(stream, encoding)
        return csv_import(
            stream,
            layout=layout,
            mapping=mapping_guess(layout.headers) if mapping is None else mapping,
            actor=Actor(user=self.manager, via="import"),
            **kwargs,
        )

    def assert_file_error(self, data: bytes, code: str, *, encoding: str | None = None) -> str:
        with self.assertRaises(CsvFileError) as caught:
            self.run_import(data, encoding=encoding)
        self.assertEqual(caught.exception.code, code)
        self.assertFalse(Interaction.objects.exists())
        self.assertFalse(Customer.objects.exists())
        return str(caught.exception)


class ReadingTests(CsvImportTestCase):
    def test_it_imports_a_semicolon_file_with_a_byte_order_mark(self):
        data = csv_file(HEADER, *GOOD_ROWS, bom=True)

        layout = csv_layout(io.BytesIO(data))
        summary = self.run_import(data)

        self.assertEqual((layout.encoding, layout.delimiter), ("utf-8", ";"))
        self.assertEqual(layout.headers[0], "external_id")
        self.assertEqual((summary.total_rows, summary.created, summary.error_count), (3, 3, 0))
        self.assertEqual(summary.customers_created, 2)
        first = Interaction.objects.get(external_id="v1")
        self.assertEqual(first.source, "import")
        self.assertEqual(first.channel, "store")
        self.assertEqual(first.touchpoint, self.touchpoint)
        self.assertEqual(first.occurred_at, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
        marie = first.customer
        self.assertEqual((marie.first_name, marie.last_name), ("Marie", "Curie"))
        self.assertEqual(
            set(marie.contact_points.values_list("value", flat=True)),
            {"marie@example.org", "+33612345678"},
        )
        self.assertEqual(Interaction.objects.get(external_id="v3").customer, marie)
        self.assertEqual(Customer.objects.count(), 2)

    def test_it_maps_french_headers_by_itself(self):
        headers = [
            "Date",
            "Point de contact",
            "Canal",
            "Courriel",
            "Téléphone",
            "Prénom",
            "Nom",
            "Carte fidélité",
            "Commentaire",
            "Unknown column",
        ]

        self.assertEqual(
            mapping_guess(headers),
            {
                "occurred_at": "Date",
                "touchpoint": "Point de contact",
                "channel": "Canal",
                "email": "Courriel",
                "phone": "Téléphone",
                "first_name": "Prénom",
                "last_name": "Nom",
                "loyalty_card": "Carte fidélité",
                "note": "Commentaire",
            },
        )

    def test_it_reads_comma_separated_files_too(self):
        data = csv_file(*(line.replace(";", ",") for line in [HEADER, *GOOD_ROWS]))

        summary = self.run_import(data)

        self.assertEqual(summary.created, 3)

    def test_it_is_not_misled_by_decimal_commas_in_a_semicolon_file(self):
        rows = [
            f"v{n};2026-03-01T10:00:00+01:00;store-visit;store;c{n}@example.org;4{n},50"
            for n in range(12)
        ]
        data = csv_file("external_id;date;touchpoint;canal;courriel;meta.montant", *rows)

        summary = self.run_import(data)

        self.assertEqual(csv_layout(io.BytesIO(data)).delimiter, ";")
        self.assertEqual(summary.created, 12)
        self.assertEqual(Interaction.objects.get(external_id="v3").metadata, {"montant": "43,50"})

    def test_it_keeps_meta_columns_as_metadata(self):
        data = csv_file(HEADER + ";meta.basket", GOOD_ROWS[0] + ";42.50")

        self.run_import(data)

        self.assertEqual(Interaction.objects.get().metadata, {"basket": "42.50"})

    def test_it_refuses_a_binary_file(self):
        workbook = b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + bytes(range(256))
        message = self.assert_file_error(workbook, "not_csv")
        self.assertIn("CSV", message)

    def test_it_refuses_a_file_containing_nul_bytes(self):
        self.assert_file_error(
            csv_file(HEADER, GOOD_ROWS[0]).replace(b"Marie", b"Ma\x00ie"), "not_csv"
        )

    def test_it_refuses_an_empty_file(self):
        self.assert_file_error(b"  \r\n", "empty_file")

    def test_it_names_the_line_of_a_cp1252_file_read_as_utf8(self):
        data = csv_file(
            "external_id;date;touchpoint;canal;courriel;prenom",
            "v1;2026-03-01T10:00:00+01:00;store-visit;store;a@example.org;Anne",
            "v2;2026-03-01T11:00:00+01:00;store-visit;store;h@example.org;Hélène",
            encoding="cp1252",
        )

        message = self.assert_file_error(data, "wrong_encoding")

        self.assertIn("Line 3", message)
        self.assertIn("cp1252", message)

    def test_it_imports_the_same_cp1252_file_when_told_its_encoding(self):
        data = csv_file(
            "external_id;date;touchpoint;canal;courriel;prenom",
            "v1;2026-03-01T10:00:00+01:00;store-visit;store;h@example.org;Hélène",
            encoding="cp1252",
        )

        summary = self.run_import(data, encoding="cp1252")

        self.assertEqual(summary.created, 1)
        self.assertEqual(Customer.objects.get().first_name, "Hélène")

    def test_it_rejects_only_the_row_with_bad_bytes_past_the_first_block(self):
        filler = [
            f"f{n};2026-03-01T10:00:00+01:00;store-visit;store;a@example.org;Anne"
            for n in range(SAMPLE_BYTES // 60 + 10)
        ]
        data = csv_file(
            "external_id;date;touchpoint;canal;courriel;prenom",
            *filler,
            "late;2026-03-01T11:00:00+01:00;store-visit;store;h@example.org;Hélène",
            encoding="cp1252",
        )
        self.assertGreater(len(data), SAMPLE_BYTES)

        summary = self.run_import(data)

        self.assertEqual(summary.created, len(filler))
        self.assertEqual(summary.error_count, 1)
        error = summary.errors[0]
        self.assertEqual(
            (error["row"], error["field"], error["code"]), (len(filler) + 2, "prenom", "encoding")
        )
        self.assertFalse(Interaction.objects.filter(external_id="late").exists())


class RowErrorTests(CsvImportTestCase):
    def test_it_reports_each_bad_row_with_its_line_column_and_reason(self):
        data = csv_file(
            HEADER,
            GOOD_ROWS[0],
            "v2;2026-03-02T11:00:00+01:00;store-visit;store;not-an-email;;;",
            "v3;2026-03-02T11:00:00+01:00;moon-base;store;x@example.org;;;",
            "v4;2026-03-02;store-visit;store;y@example.org;;;",
            "v5;too;few;cells",
            GOOD_ROWS[1].replace("v2", "v6"),
        )

        summary = self.run_import(data)

        self.assertEqual((summary.total_rows, summary.created, summary.error_count), (6, 2, 4))
        found = [(e["row"], e["field"], e["code"]) for e in summary.errors]
        self.assertEqual(
            found,
            [
                (3, "courriel", "invalid_email"),
                (4, "point de contact", "unknown_touchpoint"),
                (5, "date", "naive_datetime"),
                (6, "", "wrong_column_count"),
            ],
        )
        self.assertTrue(all(e["message"] for e in summary.errors))
        self.assertIn("not-an-email", summary.errors[0]["message"])
        self.assertEqual(
            set(Interaction.objects.values_list("external_id", flat=True)), {"v1", "v6"}
        )
        self.assertFalse(ContactPoint.objects.filter(value__in=["x@example.org", "y@example.org"]))

    def test_it_reports_a_row_repeated_inside_the_file(self):
        data = csv_file(HEADER, GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0])

        summary = self.run_import(data)

        self.assertEqual((summary.created, summary.error_count), (2, 1))
        error = summary.errors[0]
        self.assertEqual((error["row"], error["code"]), (4, "duplicate_row"))
        self.assertIn("row 2", error["message"])
        self.assertEqual(Interaction.objects.count(), 2)

    def test_it_reports_a_repeated_row_without_external_id(self):
        header = "date;touchpoint;canal;courriel"
        row = "2026-03-01T10:00:00+01:00;store-visit;store;marie@example.org"

        summary = self.run_import(csv_file(header, row, row))

        self.assertEqual((summary.created, summary.error_count), (1, 1))
        self.assertEqual(summary.errors[0]["code"], "duplicate_row")
        self.assertIn("row 2", summary.errors[0]["message"])

    def test_it_stops_before_any_row_when_required_columns_are_missing(self):
        data = csv_file("external_id;date;courriel", "v1;2026-03-01T10:00:00+01:00;a@example.org")

        message = self.assert_file_error(data, "bad_mapping")

        self.assertIn("touchpoint", message)
        self.assertIn("channel", message)

    def test_it_stops_before_any_row_when_no_column_says_who_the_customer_is(self):
        data = csv_file("date;touchpoint;canal", "2026-03-01T10:00:00+01:00;store-visit;store")

        message = self.assert_file_error(data, "bad_mapping")

        self.assertIn("email", message)

    def test_it_creates_nothing_twice_when_a_file_is_imported_again(self):
        header = "date;touchpoint;canal;courriel"
        rows = [
            "2026-03-01T10:00:00+01:00;store-visit;store;marie@example.org",
            "2026-03-02T10:00:00+01:00;store-visit;store;marie@example.org",
            "2026-03-02T10:00:00+01:00;store-visit;phone;paul@example.org",
        ]
        data = csv_file(header, *rows)

        first = self.run_import(data)
        again = self.run_import(data)

        self.assertEqual((first.created, first.existing), (3, 0))
        self.assertEqual((again.created, again.existing, again.error_count), (0, 3, 0))
        self.assertEqual(Interaction.objects.count(), 3)
        self.assertEqual(Customer.objects.count(), 2)
        self.assertTrue(
            all(
                e.startswith("fp:")
                for e in Interaction.objects.values_list("external_id", flat=True)
            )
        )

    def test_it_writes_an_error_report_that_spreadsheets_cannot_run(self):
        header = 'date;touchpoint;canal;"=HYPERLINK(""http://evil.example"",""x"")"'
        data = csv_file(header, "2026-03-01T10:00:00+01:00;store-visit;store;not-an-email")
        layout = csv_layout(io.BytesIO(data))
        mapping = {**mapping_guess(layout.headers), "email": layout.headers[3]}

        summary = self.run_import(data, mapping=mapping)
        rows = list(csv.reader(io.StringIO(csv_text(error_report_rows(summary.errors)))))

        self.assertEqual(rows[0], ["row", "column", "code", "reason"])
        self.assertEqual(rows[1][:3], ["2", "'" + layout.headers[3], "invalid_email"])


class ConsoleImportTests(CsvImportTestCase):
    def upload(self, data: bytes, *, user=None, name="visits.csv", **fields):
        self.client.force_login(user or self.manager)
        return self.client.post(
            "/interactions/imports/",
            {
                "file": SimpleUploadedFile(name, data, content_type="text/csv"),
                "encoding": fields.get("encoding", "utf-8"),
                "source": fields.get("source", "shop"),
            },
        )

    def start(self, job: ImportJob, mapping: dict):
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                f"/interactions/imports/{job.pk}/mapping/", {**mapping, "start": "1"}
            )
        job.refresh_from_db()
        return response

    def test_it_runs_a_killed_import_again_and_finishes_it(self):
        self.upload(csv_file(HEADER, *GOOD_ROWS))
        job = ImportJob.objects.get()
        # As if a worker died after writing part of it: running, silent for ten minutes.
        ImportJob.objects.filter(pk=job.pk).update(
            status="running", heartbeat_at=timezone.now() - timedelta(minutes=10)
        )
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(f"/interactions/imports/{job.pk}/again/")
        self.assertRedirects(response, f"/interactions/imports/{job.pk}/")
        job.refresh_from_db()
        self.assertEqual((job.status, job.created_count), ("done", 3))

        # A finished import cannot run again.
        response = self.client.post(f"/interactions/imports/{job.pk}/again/", follow=True)
        self.assertContains(response, "cannot run again")
        self.assertEqual(Interaction.objects.count(), 3)

    def test_it_runs_an_import_from_upload_to_error_report(self):
        bad = "v9;2026-03-02T11:00:00+01:00;store-visit;store;not-an-email;;;"
        response = self.upload(csv_file(HEADER, *GOOD_ROWS, bad, bom=True))

        job = ImportJob.objects.get()
        self.assertRedirects(response, f"/interactions/imports/{job.pk}/mapping/")
        self.assertEqual((job.status, job.encoding, job.source), ("mapping", "utf-8", "shop"))
        self.assertEqual(job.created_by, self.manager)
        self.assertEqual(job.mapping["email"], "courriel")

        mapping_page = self.client.get(f"/interactions/imports/{job.pk}/mapping/")
        self.assertEqual(mapping_page.status_code, 200)
        preview = mapping_page.context["preview"]
        self.assertEqual([row["row"] for row in preview], [2, 3, 4, 5])
        self.assertEqual([bool(row["errors"]) for row in preview], [False, False, False, True])
        self.assertEqual(preview[3]["errors"][0]["field"], "courriel")
        self.assertFalse(Interaction.objects.exists())

        response = self.start(job, job.mapping)
        self.assertRedirects(response, f"/interactions/imports/{job.pk}/")
        self.assertEqual(job.status, "done")
        self.assertEqual(
            (job.total_rows, job.created_count, job.existing_count, job.error_count), (4, 3, 0, 1)
        )
        self.assertEqual(
            set(Interaction.objects.values_list("source", "external_id")),
            {("shop", "v1"), ("shop", "v2"), ("shop", "v3")},
        )
        entry = AuditEntry.objects.get(action="import")
        self.assertEqual((entry.actor, entry.changes["job"]), (self.manager, job.pk))
        # Once its rows are in, the uploaded file (personal data) is gone; the report stays.
        self.assertFalse(job.file)

        detail = self.client.get(f"/interactions/imports/{job.pk}/")
        self.assertEqual(detail.status_code, 200)
        self.assertEqual(detail.context["errors"][0]["row"], 5)
        self.assertContains(detail, "not-an-email")

        report = self.client.get(f"/interactions/imports/{job.pk}/errors.csv")
        rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
        self.assertEqual(report["Content-Type"], "text/csv; charset=utf-8")
        self.assertEqual(rows[0], ["row", "column", "code", "reason"])
        self.assertEqual(rows[1][:3], ["5", "courriel", "invalid_email"])

    def test_it_refuses_to_start_without_the_required_columns(self):
        self.upload(csv_file(HEADER, *GOOD_ROWS))
        job = ImportJob.objects.get()
        mapping = {k: v for k, v in job.mapping.items() if k != "touchpoint"}

        response = self.start(job, mapping)

        self.assertEqual(response.status_code, 422)
        errors = " ".join(response.context["form"].non_field_errors())
        self.assertIn("touchpoint", errors)
        self.assertContains(response, "touchpoint", status_code=422)
        self.assertEqual(job.status, "mapping")
        self.assertFalse(Interaction.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action="import").exists())

    def test_it_refuses_a_binary_upload_next_to_the_file_field(self):
        response = self.upload(
            b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), name="visits.xlsx"
        )

        self.assertEqual(response.status_code, 422)
        self.assertIn("file", response.context["form"].errors)
        self.assertFalse(ImportJob.objects.exists())

    def test_it_refuses_a_cp1252_upload_read_as_utf8_naming_the_line(self):
        data = csv_file(
            ASCII_HEADER, GOOD_ROWS[0].replace("Marie;Curie", "Hélène;Curie"), encoding="cp1252"
        )

        response = self.upload(data)

        self.assertEqual(response.status_code, 422)
        self.assertIn("Line 2", response.context["form"].errors["file"][0])
        self.assertFalse(ImportJob.objects.exists())

    def test_it_imports_a_cp1252_upload_when_told_its_encoding(self):
        data = csv_file(
            ASCII_HEADER,
            GOOD_ROWS[0].replace("Marie;Curie", "Hélène;Curie"),
            encoding="cp1252",
        )
        self.upload(data, encoding="cp1252")
        job = ImportJob.objects.get()

        self.start(job, job.mapping)

        self.assertEqual((job.status, job.created_count), ("done", 1))
        self.assertEqual(Customer.objects.get().first_name, "Hélène")

    def test_it_keeps_imports_from_other_users_and_from_agents(self):
        self.upload(csv_file(HEADER, *GOOD_ROWS))
        job = ImportJob.objects.get()
        colleague = make_user("max", "manager")

        self.client.force_login(colleague)
        self.assertEqual(self.client.get(f"/interactions/imports/{job.pk}/").status_code, 404)
        self.assertEqual(
            self.client.get(f"/interactions/imports/{job.pk}/errors.csv").status_code, 404
        )
        self.client.force_login(self.admin)
        self.assertEqual(self.client.get(f"/interactions/imports/{job.pk}/").status_code, 200)
        self.client.force_login(self.agent)
        self.assertEqual(self.client.get("/interactions/imports/").status_code, 403)
        self.assertEqual(
            self.upload(csv_file(HEADER, *GOOD_ROWS), user=self.agent).status_code, 403
        )
        self.assertEqual(ImportJob.objects.count(), 1)


class CommandLineTests(CsvImportTestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="cxcore-test-cli-"))
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)

    def cli(self, data: bytes, *extra: str) -> tuple[int, str, Path]:
        path = self.folder / "visits.csv"
        path.write_bytes(data)
        report = self.folder / "errors.csv"
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = cli_main(
                ["import", "interactions", str(path), "--errors", str(report), *extra]
            )
        return status, out.getvalue() + err.getvalue(), report

    def test_it_imports_a_file_and_prints_a_summary(self):
        status, output, report = self.cli(csv_file(HEADER, *GOOD_ROWS), "--source", "shop")

        self.assertEqual(status, 0)
        self.assertIn("3 created", output)
        self.assertIn("0 rejected", output)
        self.assertIn("2 new customers", output)
        self.assertFalse(report.exists())
        self.assertEqual(Interaction.objects.filter(source="shop").count(), 3)

    def test_it_returns_1_and_writes_a_report_when_rows_are_rejected(self):
        bad = "v9;2026-03-02T11:00:00+01:00;store-visit;store;not-an-email;;;"

        status, output, report = self.cli(csv_file(HEADER, *GOOD_ROWS, bad))

        self.assertEqual(status, 1)
        self.assertIn("3 created", output)
        self.assertIn("1 rejected", output)
        self.assertIn("row 5", output)
        rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8"))))
        self.assertEqual(rows[1][:3], ["5", "courriel", "invalid_email"])
        self.assertEqual(Interaction.objects.count(), 3)

    def test_it_says_what_is_wrong_with_an_unreadable_file(self):
        status, output, _report = self.cli(b"PK\x03\x04\x14\x00" + bytes(range(256)))

        self.assertNotEqual(status, 0)
        self.assertIn("not_csv", output)
        self.assertFalse(Interaction.objects.exists())

    def test_it_accepts_a_hand_made_column_mapping(self):
        data = csv_file(
            "quand;ou;comment;qui", "2026-03-01T10:00:00+01:00;store-visit;store;a@example.org"
        )

        status, output, _report = self.cli(
            data,
            "--map",
            "occurred_at=quand",
            "--map",
            "touchpoint=ou",
            "--map",
            "channel=comment",
            "--map",
            "email=qui",
        )

        self.assertEqual(status, 0, output)
        self.assertEqual(Interaction.objects.count(), 1)
