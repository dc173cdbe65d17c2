"""Printable batches for the channels people carry out: postal letters (PDF) and call lists."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from fpdf import FPDF

from cxcore.membrane.backends import Outbound, outbounds_for
from cxcore.membrane.models import Delivery

# The PDF core fonts cover Latin-1; these common characters of French text are not in it.
_LATIN1_FALLBACKS = str.maketrans(
    {"œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
     "…": "...", "€": "EUR", "\u202f": " ", "\u00a0": " "}
)  # fmt: skip


def _latin1(text: str) -> str:
    return text.translate(_LATIN1_FALLBACKS).encode("latin-1", "replace").decode("latin-1")


def _printable(deliveries: QuerySet[Delivery]) -> list[Outbound]:
    """The outbounds of these deliveries (built as the sender builds them), in order."""
    batch = list(deliveries.select_related("decision").order_by("id"))
    built = outbounds_for(batch)
    return [built[d.pk] for d in batch if isinstance(built[d.pk], Outbound)]


def letters_pdf(deliveries: QuerySet[Delivery]) -> bytes:
    """One page per letter: address block, date, text, and where to change preferences."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(_latin1(_("Letters")))
    for letter in _printable(deliveries.filter(channel="postal")):
        size = 16 if letter.large_print else 11
        line = size * 0.55
        with override(letter.language):
            today = formats.date_format(timezone.localdate(), "DATE_FORMAT")
            footer = _("To choose how we contact you, visit: %(url)s") % {
                "url": letter.links["preferences"]
            }
        pdf.add_page()
        pdf.set_font("Helvetica", size=size)
        pdf.set_xy(110, 40)
        pdf.multi_cell(85, line, _latin1(f"{letter.recipient_name}\n{letter.to}"))
        pdf.set_xy(20, 80)
        pdf.cell(0, line, _latin1(today), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(line)
        if letter.subject:
            pdf.set_font("Helvetica", style="B", size=size)
            pdf.multi_cell(0, line, _latin1(letter.subject), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=size)
            pdf.ln(line / 2)
        pdf.multi_cell(0, line, _latin1(letter.body), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(line)
        pdf.set_font("Helvetica", size=max(size - 2, 9))
        pdf.multi_cell(0, line, _latin1(footer), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, line, _latin1(letter.customer_reference), new_x="LMARGIN", new_y="NEXT")
    if pdf.page_no() == 0:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.cell(0, 10, _latin1(_("No letter to print.")))
    return bytes(pdf.output())


def call_list(deliveries: QuerySet[Delivery]) -> list[Outbound]:
    """Calls for agents to make: who, which number, what to say, in which language."""
    return _printable(deliveries.filter(channel="phone"))
