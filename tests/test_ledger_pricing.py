"""Pricing: exact Decimal amounts, the rounding rule, commission bases, rates at the event's time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.ledger import (
    credit_of,
    entries_of,
    make_partner,
    make_partner_rate,
    make_rate,
    make_tenant,
    model_name,
    usage,
)
from ledger import repository as repo
from ledger import service
from ledger.chain import entry_hash
from ledger.pricing import (
    AppliedRate,
    Commission,
    PartnerRateVersion,
    PricingError,
    RateBook,
    SystemRateVersion,
    price,
)
from runtime import db

D = Decimal


def rate(cost: str, billing: str, unit: str = "1k_tokens", price_unit: str | None = None) -> AppliedRate:
    return AppliedRate(D(cost), unit, D(billing), price_unit or unit)


# --- the pure function -------------------------------------------------------------------


def test_direct_tenant_pays_billing_rate_and_no_commission() -> None:
    assert price(1500, rate("0.003", "0.006"), None) == (D("0.004500"), D("0.009000"), D("0"))


def test_margin_commission_is_pct_of_rounded_margin_half_even() -> None:
    # cost 1234 * 0.003 / 1000 = 0.003702; price 0.012340; margin 0.008638 * 20% = 0.0017276
    amounts = price(1234, rate("0.003", "0.010"), Commission(D("20"), "margin"))
    assert amounts == (D("0.003702"), D("0.012340"), D("0.001728"))
    assert all(a.as_tuple().exponent == -6 for a in amounts), "every amount has exactly 6 places"


def test_gross_commission_is_pct_of_tenant_cost() -> None:
    amounts = price(1234, rate("0.003", "0.010"), Commission(D("15"), "gross"))
    assert amounts == (D("0.003702"), D("0.012340"), D("0.001851"))


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (500, "0.000000"),  # 0.0000005 -> half to even: 0
        (1500, "0.000002"),  # 0.0000015 -> half to even: 2
        (2500, "0.000002"),  # 0.0000025 -> half to even: 2 (half-up would give 3)
        (2501, "0.000003"),  # above half
    ],
)
def test_amounts_round_half_even_at_six_places(tokens: int, expected: str) -> None:
    platform, tenant, _ = price(tokens, rate("0.000001", "0.000001"), None)
    assert (platform, tenant) == (D(expected), D(expected))


def test_commission_rounds_half_even_too() -> None:
    # margin 0.000005 * 50% = 0.0000025 -> 0.000002 ; 0.000015 * 50% = 0.0000075 -> 0.000008
    assert price(1000, rate("0.000001", "0.000006"), Commission(D("50")))[2] == D("0.000002")
    assert price(1000, rate("0.000001", "0.000016"), Commission(D("50")))[2] == D("0.000008")


def test_per_million_unit_and_mixed_units() -> None:
    assert price(1_000_000, rate("2.5", "5", unit="1m_tokens"), None) == (D("2.5"), D("5"), D("0"))
    # cost per 1M, price per 1k (a partner rate set against an older system rate version)
    assert price(2000, rate("2.5", "0.01", unit="1m_tokens", price_unit="1k_tokens"), None) == (
        D("0.005"),
        D("0.02"),
        D("0"),
    )


def test_negative_margin_earns_no_margin_commission_and_is_flagged() -> None:
    amounts = price(1000, rate("0.010", "0.008"), Commission(D("30"), "margin"))
    assert amounts == (D("0.010000"), D("0.008000"), D("0"))
    assert amounts.negative_margin
    gross = price(1000, rate("0.010", "0.008"), Commission(D("30"), "gross"))
    assert gross.partner_commission == D("0.002400") and gross.negative_margin


def test_exact_with_large_quantities_no_float_drift() -> None:
    # 0.1 + 0.2 style drift would show in the last digit; Decimal keeps it exact.
    amounts = price(999_999_999, rate("0.000003", "0.000007"), Commission(D("33.33")))
    # 2.999999997 -> 3.000000 ; 6.999999993 -> 7.000000 ; 33.33% of 4.000000 = 1.333200
    assert amounts == (D("3.000000"), D("7.000000"), D("1.333200"))


def test_floats_and_bad_inputs_are_refused() -> None:
    with pytest.raises(PricingError):
        price(1.5, rate("0.001", "0.002"), None)  # type: ignore[arg-type]
    with pytest.raises(PricingError):
        price(-1, rate("0.001", "0.002"), None)
    with pytest.raises(PricingError):
        price(1, AppliedRate(D("1"), "1g_tokens", D("1"), "1k_tokens"), None)
    with pytest.raises(PricingError):
        Commission(D("120"))


# --- rate versions at the event's time ----------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T1 = datetime(2025, 6, 1, tzinfo=UTC)
T2 = datetime(2025, 9, 1, tzinfo=UTC)
PARTNER = uuid.uuid4()


def _book() -> RateBook:
    v1 = SystemRateVersion(uuid.uuid4(), "gpt", "input_tokens", "1k_tokens", D("0.001"), D("0.002"), T0, T1)
    v2 = SystemRateVersion(uuid.uuid4(), "gpt", "input_tokens", "1m_tokens", D("0.8"), D("1.6"), T1, None)
    p1 = PartnerRateVersion(
        uuid.uuid4(),
        PARTNER,
        v1.id,
        "gpt",
        "input_tokens",
        "1k_tokens",
        D("0.003"),
        T0 + timedelta(days=30),
        T2,
    )
    return RateBook([v2, v1], [p1])


def test_rate_in_force_is_chosen_by_the_events_own_time() -> None:
    book = _book()
    before_change = book.resolve("gpt", "input_tokens", None, T1 - timedelta(microseconds=1))
    at_change = book.resolve("gpt", "input_tokens", None, T1)
    assert (before_change.cost_rate, before_change.cost_unit) == (D("0.001"), "1k_tokens")
    assert (at_change.cost_rate, at_change.cost_unit) == (D("0.8"), "1m_tokens"), "valid_from is inclusive"
    with pytest.raises(PricingError, match="no rate"):
        book.resolve("gpt", "input_tokens", None, T0 - timedelta(seconds=1))
    with pytest.raises(PricingError, match="no rate"):
        book.resolve("other", "input_tokens", None, T1)


def test_partner_rate_takes_precedence_only_while_in_force() -> None:
    book = _book()
    early = book.resolve("gpt", "input_tokens", PARTNER, T0 + timedelta(days=1))
    assert early.partner_rate_id is None and early.price_rate == D("0.002"), "system billing rate"
    mid = book.resolve("gpt", "input_tokens", PARTNER, T1 + timedelta(days=1))
    # cost from the system version in force (per 1M), price from the partner's (per 1k)
    assert (mid.cost_rate, mid.cost_unit, mid.price_rate, mid.price_unit) == (
        D("0.8"),
        "1m_tokens",
        D("0.003"),
        "1k_tokens",
    )
    assert book.resolve("gpt", "input_tokens", PARTNER, T2).partner_rate_id is None, "valid_to exclusive"
    assert book.resolve("gpt", "input_tokens", uuid.uuid4(), T1).partner_rate_id is None, "other partner"


# --- the same rules through PostgreSQL (repository + service) ------------------------------


async def test_rates_load_from_postgres_with_their_versions(database: str) -> None:
    model = model_name()
    partner = await make_partner("10", "gross")
    v1 = await make_rate(model, cost="0.001", billing="0.002", valid_from=T0, valid_to=T1)
    await make_rate(model, cost="0.002", billing="0.004", valid_from=T1)
    await make_partner_rate(partner, v1, "0.005", valid_from=T0, valid_to=T1)
    async with db.scope(system=True):
        book = await repo.rate_book([model], [partner])
    assert book.resolve(model, "input_tokens", partner, T0).price_rate == D("0.005")
    assert book.resolve(model, "input_tokens", partner, T1).price_rate == D("0.004")
    assert book.resolve(model, "input_tokens", None, T0).price_rate == D("0.002")


async def test_late_event_is_priced_at_the_rates_of_its_own_time(database: str) -> None:
    model = model_name()
    await make_rate(model, cost="0.001", billing="0.002", valid_from=T0, valid_to=T1)
    await make_rate(model, cost="0.010", billing="0.020", valid_from=T1)
    partner = await make_partner("25", "margin")
    tenant = await make_tenant(partner, credit="10")
    current = usage(tenant, model, 1000, at=T2)
    late = usage(tenant, model, 1000, at=T1 - timedelta(seconds=1))  # arrives after `current`
    first = await service.record_batch([current])
    second = await service.record_batch([late])
    assert not first.rejected and not second.rejected
    entries = await entries_of(tenant)
    by_event = {e.event_id: e for e in entries}
    now_entry = by_event[service.entry_event_id(current.event_id, "input_tokens")]
    late_entry = by_event[service.entry_event_id(late.event_id, "input_tokens")]
    assert now_entry.amounts == (D("0.01"), D("0.02"), D("0.0025"))
    assert late_entry.amounts == (D("0.001"), D("0.002"), D("0.00025")), "late event at its own time's rate"
    assert await credit_of(tenant) == D("10") - D("0.022")


async def test_negative_margin_entry_is_recorded_and_flagged(database: str) -> None:
    model = model_name()
    system = await make_rate(model, cost="0.010", billing="0.020")
    partner = await make_partner("30", "margin")
    await make_partner_rate(partner, system, "0.004")
    tenant = await make_tenant(partner)
    result = await service.record_batch([usage(tenant, model, 1000)])
    (entry,) = result.entries
    assert entry.amounts == (D("0.01"), D("0.004"), D("0"))
    assert entry.metadata["negative_margin"] is True


# --- properties (hypothesis) ----------------------------------------------------------------

HALF_ULP = D("0.0000005")
rates = st.decimals(min_value=D("0"), max_value=D("1000"), places=6, allow_nan=False, allow_infinity=False)
tokens = st.integers(min_value=0, max_value=10_000_000)
units = st.sampled_from(["1k_tokens", "1m_tokens"])
pcts = st.decimals(min_value=D("0"), max_value=D("100"), places=2, allow_nan=False, allow_infinity=False)
SIZE = {"1k_tokens": D(1000), "1m_tokens": D(1_000_000)}


@given(tokens, rates, rates, units, pcts, st.sampled_from(["margin", "gross"]))
def test_property_amounts_are_six_place_and_within_half_a_unit(
    qty: int, cost: Decimal, billing: Decimal, unit: str, pct: Decimal, basis: str
) -> None:
    amounts = price(qty, AppliedRate(cost, unit, billing, unit), Commission(pct, basis))
    assert all(a.as_tuple().exponent == -6 and a >= 0 for a in amounts)
    assert abs(amounts.platform_cost - qty * cost / SIZE[unit]) <= HALF_ULP
    assert abs(amounts.tenant_cost - qty * billing / SIZE[unit]) <= HALF_ULP
    base = amounts.tenant_cost if basis == "gross" else max(amounts.tenant_cost - amounts.platform_cost, D(0))
    assert abs(amounts.partner_commission - base * pct / 100) <= HALF_ULP
    assert amounts.partner_commission <= amounts.tenant_cost
    if basis == "margin" and amounts.negative_margin:
        assert amounts.partner_commission == 0


@given(tokens, tokens, rates, units)
def test_property_price_is_monotonic_in_quantity(a: int, b: int, r: Decimal, unit: str) -> None:
    low, high = sorted((a, b))
    rate_ = AppliedRate(r, unit, r, unit)
    assert price(low, rate_, None).tenant_cost <= price(high, rate_, None).tenant_cost


@given(tokens, rates, rates, pcts)
def test_property_reversal_cancels_exactly(qty: int, cost: Decimal, billing: Decimal, pct: Decimal) -> None:
    amounts = price(qty, AppliedRate(cost, "1k_tokens", billing, "1k_tokens"), Commission(pct))
    assert all(a + r == 0 for a, r in zip(amounts, amounts.negated(), strict=True))
    assert amounts.negated().negated() == amounts


async def test_a_batch_holding_recorded_events_writes_only_the_new_ones_and_keeps_the_chain(
    database: str,
) -> None:
    """The write is optimistic (the event id's unique index is the duplicate check): a batch
    with events the ledger holds rolls back and is written again without them, once. The
    model's name holds what JSON escapes (the rows travel as one JSON document)."""
    model = model_name('q"b\\s\tü\u2028')
    await make_rate(model, cost="0.001", billing="0.002")
    tenant = await make_tenant(credit="10")
    old = [usage(tenant, model, 1000) for _ in range(3)]
    first = await service.record_batch(old)
    new = [usage(tenant, model, 2000) for _ in range(2)]
    mixed = await service.record_batch([old[1], new[0], old[2], new[1]])
    assert (first.duplicates, mixed.duplicates) == (0, 2)
    assert mixed.recorded == {0, 1, 2, 3} and not mixed.rejected
    assert {e.event_id for e in mixed.entries} == {
        service.entry_event_id(event.event_id, "input_tokens") for event in new
    }
    entries = await entries_of(tenant)  # in chain order
    assert len(entries) == 5
    assert entries[0].prev_hash is None
    assert all(e.prev_hash == before.entry_hash for before, e in pairwise(entries))
    assert all(e.entry_hash == entry_hash(e.prev_hash, e) for e in entries), "stored as hashed"
    assert {e.model for e in entries} == {model}
    assert await credit_of(tenant) == D("10") - 3 * D("0.002") - 2 * D("0.004"), "debited once per event"
    again = await service.record_batch(new)  # nothing new at all
    assert (again.duplicates, again.entries) == (2, [])
    assert len(await entries_of(tenant)) == 5
