"""Partner statements (docs/billing.md "Partner statements").

A statement is one partner's commission for one calendar month (UTC), per tenant: the sum of
the `partner_commission` of the ledger entries of that month, the very sum
`GET /partner/earnings?from=<month start>&to=<month end>` reports. Amounts are shown exact
(6 decimals) and in cents; the statement's total in cents is the exact total rounded once,
half to even (so it matches the earnings total to the cent). CSV and PDF downloads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal
from typing import Any

from fpdf import FPDF

from billing.invoices import period_of, round_cents
from runtime import db


def month_of(label: str) -> tuple[dt.datetime, dt.datetime]:
    """`YYYY-MM` -> the month's [start, end); ValueError on anything else."""
    start = dt.datetime.strptime(label, "%Y-%m").replace(tzinfo=dt.UTC)
    return period_of(start)


async def months(partner_id: uuid.UUID) -> list[dict[str, Any]]:
    """Months with commission, newest first (inside the partner's scope)."""
    rows = await db.fetch(
        "SELECT date_trunc('month', created_at AT TIME ZONE 'UTC') AS month, "
        "sum(partner_commission) AS total "
        "FROM ledger_entries WHERE partner_id = $1 GROUP BY 1 ORDER BY 1 DESC",
        partner_id,
    )
    return [
        {"month": f"{r['month']:%Y-%m}", "total": round_cents(r["total"]), "exact_total": r["total"]}
        for r in rows
    ]


async def statement(partner_id: uuid.UUID, label: str) -> dict[str, Any]:
    """One month's statement (inside the partner's scope)."""
    start, end = month_of(label)
    rows = await db.fetch(
        "SELECT t.id AS tenant_id, t.name, COALESCE(sum(e.tenant_cost), 0) AS tenant_cost, "
        "COALESCE(sum(e.partner_commission), 0) AS commission FROM tenants t "
        "JOIN ledger_entries e ON e.tenant_id = t.id AND e.partner_id = $1 "
        "AND e.created_at >= $2 AND e.created_at < $3 WHERE t.partner_id = $1 "
        "GROUP BY t.id, t.name ORDER BY t.name",
        partner_id,
        start,
        end,
    )
    lines = [
        {
            "tenant_id": r["tenant_id"],
            "tenant_name": r["name"],
            "tenant_cost": r["tenant_cost"],
            "commission": r["commission"],
            "commission_cents": round_cents(r["commission"]),
        }
        for r in rows
    ]
    exact = sum((line["commission"] for line in lines), Decimal(0))
    return {
        "month": label,
        "period_start": start,
        "period_end": end,
        "lines": lines,
        "exact_total": exact,
        "total": round_cents(exact),
    }


def as_csv(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["month", "tenant_id", "tenant", "tenant_spend", "commission_exact", "commission"])
    for line in doc["lines"]:
        w.writerow(
            [
                doc["month"],
                line["tenant_id"],
                line["tenant_name"],
                f"{line['tenant_cost']:.6f}",
                f"{line['commission']:.6f}",
                f"{line['commission_cents']:.2f}",
            ]
        )
    w.writerow([doc["month"], "", "TOTAL", "", f"{doc['exact_total']:.6f}", f"{doc['total']:.2f}"])
    return out.getvalue()


def as_pdf(doc: dict[str, Any], partner_name: str) -> bytes:
    def t(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 12, t(f"Commission statement {doc['month']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, t(f"Partner: {partner_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(100, 8, "Tenant", border="B")
    pdf.cell(45, 8, "Spend (USD)", border="B", align="R")
    pdf.cell(45, 8, "Commission (USD)", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in doc["lines"]:
        pdf.cell(100, 7, t(line["tenant_name"])[:55])
        pdf.cell(45, 7, f"{round_cents(line['tenant_cost']):,.2f}", align="R")
        pdf.cell(45, 7, f"{line['commission_cents']:,.2f}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(145, 9, "Total", border="T")
    pdf.cell(45, 9, f"{doc['total']:,.2f}", border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


async def revenue(since: dt.datetime) -> list[dict[str, Any]]:
    """Per month since `since` (system scope): platform cost, tenant revenue and partner
    commission, in total and per partner (`partner_id` None = direct tenants). Exact sums."""
    rows = await db.fetch(
        "SELECT date_trunc('month', e.created_at AT TIME ZONE 'UTC') AS month, e.partner_id, p.name, "
        "sum(e.platform_cost) AS platform_cost, sum(e.tenant_cost) AS tenant_revenue, "
        "sum(e.partner_commission) AS partner_commission FROM ledger_entries e "
        "LEFT JOIN partners p ON p.id = e.partner_id WHERE e.created_at >= $1 "
        "GROUP BY 1, 2, 3 ORDER BY 1, 3 NULLS FIRST",
        since,
    )
    by_month: dict[str, dict[str, Any]] = {}
    for r in rows:
        label = f"{r['month']:%Y-%m}"
        month = by_month.setdefault(
            label,
            {
                "month": label,
                "platform_cost": Decimal(0),
                "tenant_revenue": Decimal(0),
                "partner_commission": Decimal(0),
                "partners": [],
            },
        )
        for key in ("platform_cost", "tenant_revenue", "partner_commission"):
            month[key] += r[key]
        month["partners"].append(
            {
                "partner_id": r["partner_id"],
                "partner_name": r["name"] or "Direct",
                "platform_cost": r["platform_cost"],
                "tenant_revenue": r["tenant_revenue"],
                "partner_commission": r["partner_commission"],
            }
        )
    return list(by_month.values())
