"""`hirebuddha ledger verify`: re-derive every tenant's hash chain, amounts and totals.

Per entry, in each tenant's chain order: prev_hash links to the previous entry's hash, the
stored entry_hash equals the hash recomputed from the row, created_at strictly increases,
and the amounts equal what `pricing.price` gives for the rates and commission recorded in
the entry's metadata (a reversal: exactly the negated original). Per tenant: the walked sums
equal PostgreSQL's aggregates. Runs in system scope (cross-tenant by nature), read-only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from ledger import repository as repo
from ledger.chain import Entry, entry_hash
from ledger.pricing import AppliedRate, Commission, PricingError, price, round6
from runtime import db

PAGE = 5000
SHOWN = 50
"""Partner lines printed in the summary."""
ZERO4 = (0, Decimal(0), Decimal(0), Decimal(0))


@dataclass(frozen=True)
class Problem:
    """One mismatch, naming the entry it was found at."""

    entry_id: UUID | None
    tenant_id: UUID
    what: str

    def __str__(self) -> str:
        where = f"entry {self.entry_id}" if self.entry_id else "totals"
        return f"{where} (tenant {self.tenant_id}): {self.what}"


@dataclass
class Report:
    """What verify found; `ok` when there is no problem."""

    tenants: int = 0
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)
    totals: dict[UUID, tuple[int, Decimal, Decimal, Decimal]] = field(default_factory=dict)
    """Per tenant: entries, platform_cost, tenant_cost, partner_commission (walked)."""
    commission_by_partner: dict[UUID, Decimal] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every chain, amount and total checked out."""
        return not self.problems


def _rederive(entry: Entry) -> str | None:
    """Why the entry's amounts differ from its recorded pricing inputs, or None."""
    meta = entry.metadata
    rate, commission = meta.get("rate"), meta.get("commission")
    if not isinstance(rate, dict):
        return "metadata lacks the rate it was priced at"
    try:
        applied = AppliedRate(
            Decimal(rate["cost_rate"]),
            rate["cost_unit"],
            Decimal(rate["price_rate"]),
            rate["price_unit"],
        )
        share = None
        if isinstance(commission, dict):
            share = Commission(Decimal(commission["pct"]), commission["basis"])
        expected = price(entry.quantity, applied, share)
    except (KeyError, ArithmeticError, PricingError, TypeError) as exc:
        return f"pricing inputs in metadata unusable: {exc!r}"
    if expected != entry.amounts:
        return f"amounts {tuple(map(str, entry.amounts))} != re-priced {tuple(map(str, expected))}"
    return None


async def _check_entry(entry: Entry, prev: Entry | None) -> str | None:
    expected_prev = prev.entry_hash if prev else None
    if entry.prev_hash != expected_prev:
        return f"prev_hash {entry.prev_hash} does not link to {expected_prev}"
    if entry.entry_hash != entry_hash(entry.prev_hash, entry):
        return "entry_hash does not match its content (row altered)"
    if prev is not None and entry.created_at <= prev.created_at:
        return "created_at does not increase along the chain"
    if entry.reverses_id is None:
        return _rederive(entry)
    original = await repo.entry(entry.reverses_id)
    if original is None or original.tenant_id != entry.tenant_id:
        return f"reverses {entry.reverses_id}, which is not an entry of this tenant"
    if entry.amounts != original.amounts.negated() or entry.quantity != round6(-original.quantity):
        return "reversal amounts are not the exact negation of the original"
    return None


async def _walk(tenant_id: UUID, report: Report) -> None:
    prev: Entry | None = None
    n, p, t, c = ZERO4
    after = None
    while True:
        page = await repo.chain_page(tenant_id, after, PAGE)
        for entry in page:
            problem = await _check_entry(entry, prev)
            if problem:
                report.problems.append(Problem(entry.id, tenant_id, problem))
            n += 1
            p += entry.platform_cost
            t += entry.tenant_cost
            c += entry.partner_commission
            if entry.partner_id is not None:
                partner = report.commission_by_partner.get(entry.partner_id, Decimal(0))
                report.commission_by_partner[entry.partner_id] = partner + entry.partner_commission
            prev = entry
        if len(page) < PAGE:
            break
        after = (page[-1].created_at, page[-1].id)
    if n:
        report.totals[tenant_id] = (n, p, t, c)
        report.entries += n


async def verify() -> Report:
    """Check every chain and total (see the module docstring)."""
    report = Report()
    # REPEATABLE READ would be stricter; the consumer only appends, so a chain read while it
    # writes is at worst a prefix of the final one, which still verifies.
    async with db.scope(system=True):
        tenant_ids = await repo.ledger_tenant_ids()
        for tenant_id in tenant_ids:
            await _walk(tenant_id, report)
        aggregates = await repo.totals()
    report.tenants = len(report.totals)
    for tenant_id in sorted(set(aggregates) | set(report.totals)):
        walked, stored = report.totals.get(tenant_id, ZERO4), aggregates.get(tenant_id, ZERO4)
        # Entries committed after the walk (a live consumer) may only make the aggregate
        # larger; with equal counts the sums must agree to the last digit.
        if stored[0] == walked[0] and stored != walked:
            report.problems.append(
                Problem(None, tenant_id, f"walked sums {walked} != database aggregates {stored}")
            )
        elif stored[0] < walked[0]:
            report.problems.append(Problem(None, tenant_id, "database has fewer entries than walked"))
    return report


def summary(report: Report) -> str:
    """Human-readable result, the first bad entry first."""
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for _, p, t, c in report.totals.values():
        totals["platform_cost"] += p
        totals["tenant_cost"] += t
        totals["partner_commission"] += c
    lines = [
        f"ledger verify: {report.entries} entries in {report.tenants} tenant chains; "
        + ", ".join(f"{k} {v}" for k, v in totals.items())
    ]
    partners = sorted(report.commission_by_partner.items())
    lines += [f"  partner {pid}: commission {amount}" for pid, amount in partners[:SHOWN]]
    if len(partners) > SHOWN:
        lines.append(f"  ... and {len(partners) - SHOWN} more partners")
    if report.ok:
        lines.append("OK")
    else:
        lines.append(f"FAILED: first bad {report.problems[0]}")
        lines += [f"  also: {p}" for p in report.problems[1:20]]
    return "\n".join(lines)
