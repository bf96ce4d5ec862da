"""An invoice as HTML (the console's view) and as PDF (fpdf2)."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

from fpdf import FPDF


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _title(invoice: dict[str, Any]) -> str:
    return f"Invoice {invoice['invoice_number'] or '(draft)'}"


def _period(invoice: dict[str, Any]) -> str:
    return f"{invoice['period_start']:%Y-%m-%d} to {invoice['period_end']:%Y-%m-%d} (end excluded)"


def _line_label(line: dict[str, Any]) -> str:
    return f"{line['model'] or '(no model)'} - {line['resource_type'].replace('_', ' ')}"


def invoice_html(invoice: dict[str, Any], lines: list[dict[str, Any]], tenant_name: str) -> str:
    """A standalone HTML page; every value escaped."""
    e = html.escape
    cur = invoice["currency"]
    rows = "".join(
        f"<tr><td>{e(_line_label(line))}</td><td class=n>{line['quantity']:,.0f}</td>"
        f"<td class=n>{e(_money(line['amount'], cur))}</td></tr>"
        for line in lines
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{e(_title(invoice))}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:720px;margin:2rem auto;padding:0 1rem}"
        "table{width:100%;border-collapse:collapse}"
        "td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}"
        ".n{text-align:right}</style></head><body>"
        f"<h1>{e(_title(invoice))}</h1>"
        f"<p>Billed to <strong>{e(tenant_name)}</strong><br>Period {e(_period(invoice))}<br>"
        f"Status <strong>{e(invoice['status'])}</strong>; due {invoice['due_date']:%Y-%m-%d}</p>"
        "<table><thead><tr><th>Usage</th><th class=n>Quantity</th><th class=n>Amount</th></tr></thead>"
        f"<tbody>{rows}</tbody><tfoot><tr><th>Total</th><th></th>"
        f"<th class=n>{e(_money(invoice['total_amount'], cur))}</th></tr></tfoot></table>"
        "<p><small>Each line is the exact sum of its usage rounded once to cents, half to even.</small></p>"
        "</body></html>"
    )


def invoice_pdf(invoice: dict[str, Any], lines: list[dict[str, Any]], tenant_name: str) -> bytes:
    """The same invoice as a one-page PDF (core fonts: latin-1 only, others replaced)."""

    def t(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1")

    cur = invoice["currency"]
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, t(f"Hirebuddha - {_title(invoice)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for text in (f"Billed to: {tenant_name}", f"Period: {_period(invoice)}", f"Status: {invoice['status']}"):
        pdf.cell(0, 7, t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(110, 8, "Usage", border="B")
    pdf.cell(35, 8, "Quantity", border="B", align="R")
    pdf.cell(45, 8, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in lines:
        pdf.cell(110, 7, t(_line_label(line))[:60])
        pdf.cell(35, 7, f"{line['quantity']:,.0f}", align="R")
        pdf.cell(45, 7, _money(line["amount"], cur), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(145, 9, "Total", border="T")
    pdf.cell(
        45, 9, _money(invoice["total_amount"], cur), border="T", align="R", new_x="LMARGIN", new_y="NEXT"
    )
    return bytes(pdf.output())
