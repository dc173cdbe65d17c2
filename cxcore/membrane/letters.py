"""Printable batches for the channels people carry out: postal letters (PDF) and call lists."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from fpdf import FPDF

from cxcore.customers.models import ContactKind, ContactPoint, Customer
from cxcore.membrane.links import portal_urls
from cxcore.membrane.models import Delivery, MessageVariant, Preference

# The PDF core fonts cover Latin-1; these common characters of French text are not in it.
_LATIN1_FALLBACKS = str.maketrans(
    {"œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
     "…": "...", "€": "EUR", "\u202f": " ", "\u00a0": " "}
)  # fmt: skip


def _latin1(text: str) -> str:
    return text.translate(_LATIN1_FALLBACKS).encode("latin-1", "replace").decode("latin-1")


def _print_rows(deliveries: QuerySet[Delivery], kind: str) -> list[dict]:
    """Each delivery with its customer, address and text, loaded in a few queries."""
    rows = list(deliveries.select_related("decision").order_by("id"))
    customer_ids = {d.customer_id for d in rows}
    customers = Customer.objects.in_bulk(customer_ids)
    addresses: dict[int, str] = {}
    for point in ContactPoint.objects.filter(customer_id__in=customer_ids, kind=kind).order_by(
        "verified", "created_at"
    ):
        addresses[point.customer_id] = point.value  # the last wins: verified, then newest
    variants = {
        (v.message_id, v.channel, v.language): v
        for v in MessageVariant.objects.filter(message_id__in={d.message_id for d in rows})
    }
    large_print = {
        customer_id
        for customer_id, needs in Preference.objects.filter(
            customer_id__in=customer_ids
        ).values_list("customer_id", "accessibility")
        if "large_print" in (needs or [])
    }
    out = []
    for delivery in rows:
        customer = customers.get(delivery.customer_id)
        variant = variants.get((delivery.message_id, delivery.channel, delivery.decision.language))
        if customer is None or variant is None:
            continue
        out.append(
            {
                "delivery": delivery,
                "customer": customer,
                "address": addresses.get(customer.pk, ""),
                "language": variant.language,
                "subject": variant.subject,
                "body": variant.body,
                "large_print": customer.pk in large_print,
            }
        )
    return out


def letters_pdf(deliveries: QuerySet[Delivery]) -> bytes:
    """One page per letter: address block, date, text, and where to change preferences."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(_latin1(_("Letters")))
    for row in _print_rows(deliveries.filter(channel="postal"), ContactKind.POSTAL):
        size = 16 if row["large_print"] else 11
        line = size * 0.55
        customer = row["customer"]
        with override(row["language"]):
            links = portal_urls(row["delivery"].decision_id, row["delivery"].purpose)
            today = formats.date_format(timezone.localdate(), "DATE_FORMAT")
            footer = _("To choose how we contact you, visit: %(url)s") % {
                "url": links["preferences"]
            }
        pdf.add_page()
        pdf.set_font("Helvetica", size=size)
        pdf.set_xy(110, 40)
        pdf.multi_cell(85, line, _latin1(f"{customer.display_name}\n{row['address']}"))
        pdf.set_xy(20, 80)
        pdf.cell(0, line, _latin1(today), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(line)
        if row["subject"]:
            pdf.set_font("Helvetica", style="B", size=size)
            pdf.multi_cell(0, line, _latin1(row["subject"]), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=size)
            pdf.ln(line / 2)
        pdf.multi_cell(0, line, _latin1(row["body"]), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(line)
        pdf.set_font("Helvetica", size=max(size - 2, 9))
        pdf.multi_cell(0, line, _latin1(footer), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, line, _latin1(customer.reference), new_x="LMARGIN", new_y="NEXT")
    if pdf.page_no() == 0:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.cell(0, 10, _latin1(_("No letter to print.")))
    return bytes(pdf.output())


def call_list(deliveries: QuerySet[Delivery]) -> list[dict]:
    """Calls for agents to make: who, which number, what to say, in which language."""
    return _print_rows(deliveries.filter(channel="phone"), ContactKind.PHONE)
