"""Invoices from the ledger (docs/billing.md "Invoices"): every entry on exactly one invoice,
totals by the one rounding rule, gap-free numbers; plus the clock and the scheduler they run on.

Entries are written by the ledger's own code (`ledger.service.record_batch`, `reverse_entry`)
in this process, against the run's real database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import invoices
from helpers.ledger import make_rate, make_tenant, model_name, usage
from ledger import service
from runtime import clock, db, scheduler


async def _invoice_entries(tenant_id: uuid.UUID) -> dict[uuid.UUID, list[uuid.UUID]]:
    """ledger entry id -> invoices it is on, for every entry of the tenant."""
    async with db.scope(tenant_id):
        rows = await db.fetch(
            "SELECT e.id, array_remove(array_agg(i.invoice_id), NULL) AS invoices FROM ledger_entries e "
            "LEFT JOIN invoice_entries i ON i.ledger_entry_id = e.id WHERE e.tenant_id = $1 GROUP BY e.id",
            tenant_id,
        )
    return {r["id"]: list(r["invoices"]) for r in rows}


async def _close(tenant_id: uuid.UUID, start: dt.datetime) -> dict:
    _, end = invoices.period_of(start)
    async with db.scope(tenant_id):
        invoice = await invoices.close_period(tenant_id, start, end)
    assert invoice is not None
    return invoice


def _next(start: dt.datetime) -> dt.datetime:
    return invoices.period_of(start)[1]


async def test_rounding_is_half_even_to_cents() -> None:
    assert invoices.round_cents(Decimal("0.125")) == Decimal("0.12")
    assert invoices.round_cents(Decimal("0.135")) == Decimal("0.14")
    assert invoices.round_cents(Decimal("-0.125")) == Decimal("-0.12")
    assert invoices.round_cents(Decimal("1.004999")) == Decimal("1.00")


async def test_periods_are_calendar_months_in_utc() -> None:
    assert invoices.period_of(dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC)) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )


async def test_an_invoice_groups_lines_numbers_gap_free_and_late_entries_go_next(database) -> None:
    model = model_name("inv")
    await make_rate(model, "input_tokens", cost="0.0005", billing="0.0015")
    await make_rate(model, "output_tokens", cost="0.001", billing="0.0025")
    tenant = await make_tenant(credit="1000")
    await service.record_batch([usage(tenant, model, 1000 + i, 333) for i in range(4)])
    start, _ = invoices.period_of(await clock.now())

    first = await _close(tenant, start)
    assert first["status"] == "open"
    assert first["invoice_number"].startswith(f"HB-{first['number_year']}-")
    async with db.scope(tenant):
        lines = await invoices.lines(first["id"])
    assert {(line["model"], line["resource_type"]) for line in lines} == {
        (model, "input_tokens"),
        (model, "output_tokens"),
    }
    assert first["total_amount"] == sum(invoices.round_cents(line["exact_amount"]) for line in lines)

    late = await service.record_batch([usage(tenant, model, 500)])  # after the period's invoice
    assert late.entries
    again = await _close(tenant, start)  # closing again changes nothing
    assert again["id"] == first["id"] and again["total_amount"] == first["total_amount"]
    second = await _close(tenant, _next(start))
    assert second["number_seq"] == first["number_seq"] + 1 or second["number_year"] != first["number_year"]
    on = await _invoice_entries(tenant)
    assert all(len(v) == 1 for v in on.values())
    assert sum(1 for v in on.values() if v == [second["id"]]) == 1  # the late call (input tokens only)

    async with db.scope(system=True):
        job = await db.fetchrow(
            "SELECT kind, status FROM scheduled_jobs WHERE dedupe_key = $1", f"charge:{first['id']}:0"
        )
    assert job is not None and job["kind"] == invoices.CHARGE_JOB


async def test_numbers_have_no_gap_across_tenants(database) -> None:
    model = model_name("gap")
    await make_rate(model, cost="0.001", billing="0.002")
    tenants = [await make_tenant(credit="1000") for _ in range(3)]
    for tenant in tenants:
        await service.record_batch([usage(tenant, model, 5000)])
    start = invoices.period_of(await clock.now())[0] + dt.timedelta(days=400)  # a period nobody closed
    start = invoices.period_of(start)[0]
    made = [await _close(tenant, start) for tenant in tenants]
    year = made[0]["number_year"]
    async with db.scope(system=True):
        seqs = [
            r["number_seq"]
            for r in await db.fetch("SELECT number_seq FROM invoices WHERE number_year = $1", year)
        ]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("use"), st.integers(1, 4), st.integers(1, 50_000), st.integers(0, 20_000)),
            st.tuples(st.just("reverse"), st.integers(0, 100)),
            st.tuples(st.just("close")),
        ),
        min_size=1,
        max_size=12,
    )
)
async def test_property_every_entry_on_exactly_one_invoice_and_totals_follow_the_rule(
    database, steps
) -> None:
    models = [model_name("prop") for _ in range(2)]
    for m in models:
        await make_rate(m, "input_tokens", cost="0.00037", billing="0.00111")
        await make_rate(m, "output_tokens", cost="0.00071", billing="0.00213")
    tenant = await make_tenant(credit="100000")
    period = invoices.period_of(await clock.now())[0]
    written: list[uuid.UUID] = []
    for step in steps:
        if step[0] == "use":
            _, n, tokens_in, tokens_out = step
            result = await service.record_batch(
                [usage(tenant, models[i % 2], tokens_in + i, tokens_out) for i in range(n)]
            )
            written += [e.id for e in result.entries if e.tenant_id == tenant]
        elif step[0] == "reverse" and written:
            target = written.pop(step[1] % len(written))
            await service.reverse_entry(target, "property test")  # a reversal is never reversed again
        else:
            await _close(tenant, period)
            period = _next(period)
    await _close(tenant, period)  # the last open period takes every late entry

    on = await _invoice_entries(tenant)
    assert all(len(v) == 1 for v in on.values()), "an entry on no invoice or on two"
    async with db.scope(tenant):
        rows = await db.fetch("SELECT * FROM invoices WHERE tenant_id = $1", tenant)
        for invoice in rows:
            exact = await db.fetch(
                "SELECT e.model, e.resource_type, sum(e.tenant_cost) AS s FROM invoice_entries i "
                "JOIN ledger_entries e ON e.id = i.ledger_entry_id WHERE i.invoice_id = $1 "
                "GROUP BY e.model, e.resource_type",
                invoice["id"],
            )
            assert invoice["total_amount"] == sum((invoices.round_cents(r["s"]) for r in exact), Decimal(0))


async def test_the_clock_moves_for_every_reader_and_the_scheduler_runs_what_is_due(database) -> None:
    ran: list[str] = []
    kind = f"test.{uuid.uuid4().hex[:8]}"

    async def job(j: scheduler.Job) -> None:
        ran.append(j.payload["n"])
        if j.payload["n"] == "flaky" and j.attempts == 1:
            raise RuntimeError("first try fails")

    scheduler.register(kind, job)
    try:
        now = await clock.now()
        async with db.scope(system=True):
            await scheduler.enqueue(kind, {"n": "now"}, now, key=f"{kind}:now")
            assert await scheduler.enqueue(kind, {"n": "again"}, now, key=f"{kind}:now") is None
            await scheduler.enqueue(kind, {"n": "flaky"}, now)
            await scheduler.enqueue(kind, {"n": "later"}, now + dt.timedelta(days=3))
        runner = scheduler.Runner(batch=50)
        while await runner.run_due():
            pass
        assert sorted(ran) == ["flaky", "now"]
        await clock.advance(dt.timedelta(days=3, minutes=5))  # the retry's backoff and "later" are due
        while await runner.run_due():
            pass
        assert sorted(ran) == ["flaky", "flaky", "later", "now"]
        async with db.scope(system=True):
            statuses = {
                r["status"] for r in await db.fetch("SELECT status FROM scheduled_jobs WHERE kind = $1", kind)
            }
        assert statuses == {"done"}
    finally:
        await clock.set_offset(0)
