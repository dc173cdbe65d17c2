"""CSV files of interactions: encoding and dialect checks, column mapping, preview, import."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.utils.translation import gettext as _

from cxcore.interactions.ingest import (
    ALL_FIELDS,
    IDENTITY_FIELDS,
    REQUIRED_FIELDS,
    References,
    RowValidator,
)
from cxcore.interactions.services import interactions_ingest
from cxcore.lib.actor import Actor

SAMPLE_BYTES = 64 * 1024
ENCODINGS = ("utf-8", "cp1252", "latin-1")
META_PREFIX = "meta."
# Headers people actually write, in both languages, for automatic mapping.
ALIASES = {
    "occurred_at": {
        "date",
        "datetime",
        "timestamp",
        "when",
        "occurred",
        "date_heure",
        "horodatage",
    },
    "touchpoint": {"touchpoint_code", "point_de_contact", "touch_point"},
    "channel": {"canal"},
    "customer_external_id": {"customer_id_external", "client_id", "customer_ref", "ref_client"},
    "customer": {"customer_reference", "cxcore_customer"},
    "email": {"e-mail", "mail", "courriel", "adresse_email"},
    "phone": {"telephone", "tel", "mobile", "phone_number", "numero"},
    "loyalty_card": {"card", "carte", "carte_fidelite", "loyalty"},
    "first_name": {"prenom", "firstname", "given_name"},
    "last_name": {"nom", "lastname", "surname", "family_name"},
    "language": {"langue", "lang"},
    "note": {"notes", "comment", "commentaire", "remarque"},
    "external_id": {"id", "interaction_id", "event_id"},
    "kind": {"type", "nature"},
    "outcome": {"result", "resultat", "issue"},
    "source": {"system", "systeme"},
    "employee": {"employee_code", "agent", "collaborateur"},
    "partner": {"partenaire", "carrier", "transporteur"},
    "team": {"equipe"},
    "site": {"store", "magasin", "shop"},
    "direction": {"sens"},
}


class CsvFileError(ValueError):
    """The file as a whole cannot be read; `code` is stable, the message says how to fix it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class CsvLayout:
    encoding: str
    delimiter: str
    headers: list[str]


@dataclass
class ImportSummary:
    total_rows: int = 0
    created: int = 0
    existing: int = 0
    customers_created: int = 0
    identity_conflicts: int = 0
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0

    def add_error(self, row: int, column: str, code: str, message: str, *, keep: int) -> None:
        self.error_count += 1
        if len(self.errors) < keep:
            self.errors.append({"row": row, "field": column, "code": code, "message": message})


def _key(header: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return ascii_text.strip().lower().replace(" ", "_").replace("-", "_")


def csv_layout(stream: BinaryIO, encoding: str | None = None) -> CsvLayout:
    """Inspect the start of the file: is it text, in which encoding, with which delimiter."""
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not sample.strip():
        raise CsvFileError("empty_file", _("The file is empty."))
    if b"\x00" in sample or sample.startswith(b"PK\x03\x04"):
        raise CsvFileError(
            "not_csv",
            _(
                "This is not a CSV file (it looks binary, e.g. an Excel workbook). "
                "Save it as CSV, UTF-8, and try again."
            ),
        )
    if encoding is None:
        encoding = "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CsvFileError("unknown_encoding", _("Unknown encoding %r.") % encoding) from None
    # The sample may end in the middle of a multi-byte character: decode incrementally.
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    try:
        text = decoder.decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError as exc:
        line = sample[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            "wrong_encoding",
            _(
                "Line %(line)d is not valid %(encoding)s (byte 0x%(byte)02X). "
                "Save the file as UTF-8, or choose its encoding (e.g. cp1252 for Excel on Windows)."
            )
            % {"line": line, "encoding": encoding.upper(), "byte": sample[exc.start]},
        ) from None
    first_line = text.splitlines()[0] if text.splitlines() else ""
    try:
        dialect = csv.Sniffer().sniff(text[:16384], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = max(",;\t|", key=first_line.count)
        if first_line.count(delimiter) == 0:
            raise CsvFileError(
                "not_csv",
                _(
                    "No column separator found on the first line; "
                    "is this a CSV file with a header row?"
                ),
            ) from None
    headers = next(csv.reader([first_line], delimiter=delimiter))
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise CsvFileError("no_header", _("The first line must name the columns."))
    duplicates = sorted({h for h in headers if h and headers.count(h) > 1})
    if duplicates:
        raise CsvFileError(
            "duplicate_columns", _("Columns appear twice: %s.") % ", ".join(duplicates)
        )
    return CsvLayout(encoding=encoding, delimiter=delimiter, headers=headers)


def mapping_guess(headers: list[str]) -> dict[str, str]:
    """field -> header, for the headers whose name (or a usual alias) says what they hold."""
    mapping: dict[str, str] = {}
    keyed = {_key(h): h for h in headers if h}
    for name in ALL_FIELDS:
        if name == "metadata":
            continue
        candidates = [name, *sorted(ALIASES.get(name, ()))]
        for candidate in candidates:
            if candidate in keyed and keyed[candidate] not in mapping.values():
                mapping[name] = keyed[candidate]
                break
    return mapping


def mapping_check(mapping: dict[str, str], headers: list[str]) -> list[str]:
    """Problems that stop an import before its first row, in words a person can act on."""
    problems = []
    unknown_fields = sorted(set(mapping) - set(ALL_FIELDS))
    if unknown_fields:
        problems.append(_("Unknown fields: %s.") % ", ".join(unknown_fields))
    absent = sorted(h for h in mapping.values() if h not in headers)
    if absent:
        problems.append(_("These columns are not in the file: %s.") % ", ".join(absent))
    missing = [name for name in REQUIRED_FIELDS if name not in mapping]
    if missing:
        problems.append(_("Missing required columns: %s.") % ", ".join(missing))
    if not any(name in mapping for name in IDENTITY_FIELDS):
        problems.append(
            _("Map at least one column that says who the customer is: %s.")
            % ", ".join(IDENTITY_FIELDS)
        )
    return problems


def _rows(stream: BinaryIO, layout: CsvLayout) -> Iterator[list[str]]:
    # Undecodable bytes become lone surrogates, so that only their row fails, not the file.
    text = io.TextIOWrapper(
        stream,
        encoding="utf-8-sig" if layout.encoding == "utf-8" else layout.encoding,
        errors="surrogateescape",
        newline="",
    )
    try:
        reader = csv.reader(text, delimiter=layout.delimiter)
        next(reader, None)  # header
        yield from reader
    finally:
        text.detach()


def _row_dicts(stream, layout, mapping):
    positions = [(name, layout.headers.index(header)) for name, header in mapping.items()]
    meta_positions = [
        (header[len(META_PREFIX) :], i)
        for i, header in enumerate(layout.headers)
        if header.startswith(META_PREFIX)
    ]
    width = len(layout.headers)
    for line_number, cells in enumerate(_rows(stream, layout), start=2):
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != width:
            yield line_number, None, len(cells)
            continue
        raw = {name: cells[i] for name, i in positions}
        if meta_positions:
            raw["metadata"] = {key: cells[i] for key, i in meta_positions if cells[i] != ""}
        yield line_number, raw, width


def csv_preview(
    stream: BinaryIO, layout: CsvLayout, mapping: dict[str, str], *, limit: int = 10
) -> list[dict]:
    """Validate the first rows without writing anything: what would happen to each."""
    validator = RowValidator(References.load(), default_source="import")
    preview = []
    for line_number, raw, width in _row_dicts(stream, layout, mapping):
        if raw is None:
            preview.append(
                {
                    "row": line_number,
                    "values": {},
                    "errors": [
                        {
                            "field": "",
                            "code": "wrong_column_count",
                            "message": _("Has %(got)d cells, the header has %(want)d.")
                            % {"got": width, "want": len(layout.headers)},
                        }
                    ],
                }
            )
        else:
            _valid, errors = validator.validate(raw)
            preview.append(
                {
                    "row": line_number,
                    "values": {k: v for k, v in raw.items() if k != "metadata"},
                    "errors": [
                        {**e.as_dict(), "field": mapping.get(e.field, e.field)} for e in errors
                    ],
                }
            )
        if len(preview) >= limit:
            break
    stream.seek(0)
    return preview


def csv_import(
    stream: BinaryIO,
    *,
    layout: CsvLayout,
    mapping: dict[str, str],
    actor: Actor,
    source: str = "import",
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = 5000,
    keep_errors: int = 10_000,
) -> ImportSummary:
    """Import every row; bad rows are reported (row, column, reason) and the others go in."""
    problems = mapping_check(mapping, layout.headers)
    if problems:
        raise CsvFileError("bad_mapping", " ".join(problems))
    validator = RowValidator(References.load(), default_source=source)
    summary = ImportSummary()
    seen: dict[tuple[str, str], int] = {}
    pending = []

    def flush():
        results = interactions_ingest([row for row, _line in pending], actor=actor)
        for (_row, line_number), result in zip(pending, results, strict=True):
            if result.status == "created":
                summary.created += 1
                summary.customers_created += result.customer_created
                summary.identity_conflicts += result.identity_conflict
            elif result.status == "existing":
                summary.existing += 1
            else:
                for error in result.errors:
                    summary.add_error(
                        line_number,
                        mapping.get(error.field, error.field),
                        error.code,
                        error.message,
                        keep=keep_errors,
                    )
        pending.clear()

    for line_number, raw, width in _row_dicts(stream, layout, mapping):
        summary.total_rows += 1
        if raw is None:
            summary.add_error(
                line_number,
                "",
                "wrong_column_count",
                _("Has %(got)d cells, the header has %(want)d.")
                % {"got": width, "want": len(layout.headers)},
                keep=keep_errors,
            )
            continue
        valid, errors = validator.validate(raw, index=line_number)
        if errors:
            for error in errors:
                summary.add_error(
                    line_number,
                    mapping.get(error.field, error.field),
                    error.code,
                    error.message,
                    keep=keep_errors,
                )
            continue
        key = (valid.source, valid.external_id)
        if key in seen:
            summary.add_error(
                line_number,
                mapping.get("external_id", ""),
                "duplicate_row",
                _("Same interaction as row %d of this file.") % seen[key],
                keep=keep_errors,
            )
            continue
        seen[key] = line_number
        pending.append((valid, line_number))
        if len(pending) >= chunk_rows:
            flush()
            if progress:
                progress(summary.total_rows)
    if pending:
        flush()
    if progress:
        progress(summary.total_rows)
    return summary


def error_report_rows(errors: list[dict]) -> Iterator[list]:
    yield [_("row"), _("column"), _("code"), _("reason")]
    for error in errors:
        yield [error["row"], error["field"], error["code"], error["message"]]
