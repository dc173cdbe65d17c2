"""CSV output that spreadsheets cannot turn into formulas (CSV/formula injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value) -> str:
    """Text a spreadsheet shows as text: cells starting like a formula get a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # Numbers stay numbers; negative ones are legitimate and not formulas.
        return str(value)
    text = str(value)
    if text.startswith(_TRIGGERS) or text.lstrip().startswith(_TRIGGERS[:4]):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def csv_lines(rows: Iterable[Iterable]) -> Iterable[str]:
    """Encode rows one line at a time (for StreamingHttpResponse); headers are cells too."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def csv_text(rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
