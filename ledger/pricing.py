"""Pricing: the one place a usage quantity becomes money (three-layer rate model).

Rounding rule (the only one in the ledger):
    Each amount of an entry is computed exactly in Decimal (no intermediate rounding:
    quantity x rate / unit size), then quantized to 6 decimal places with ROUND_HALF_EVEN
    (banker's rounding), once, per entry. The commission is computed from the two already
    rounded amounts and rounded the same way, so every stored entry is self-consistent:
    partner_commission == round6(pct / 100 x basis amount of the stored costs).
    Totals (invoices, earnings) are sums of stored entries; invoices round to cents later.

Commission rule:
    - direct tenant (no partner): 0.
    - basis `gross`: commission_pct % of tenant_cost.
    - basis `margin`: commission_pct % of (tenant_cost - platform_cost), floored at 0: a
      partner pricing below platform cost earns nothing on that entry (the platform does not
      claw back), and the entry is flagged `negative_margin` in its metadata.

Rate precedence (`RateBook.resolve`): the partner's rate in force at the event's own time
for that model and resource type, else the system billing rate in force then. "In force"
means valid_from <= t < valid_to (valid_to null = open ended), so a late event is priced at
the rates of its own time, never today's. No float touches any of this.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple, TypeVar
from uuid import UUID

PLACES = Decimal("0.000001")
"""Quantum of every stored amount: NUMERIC(18,6)."""
ZERO = Decimal("0").quantize(PLACES)
UNIT_SIZE: dict[str, Decimal] = {"1k_tokens": Decimal(1000), "1m_tokens": Decimal(1_000_000)}
BASES = ("margin", "gross")

# Exact intermediate arithmetic: NUMERIC(18,6) values have at most 18 digits, a product of two
# of them at most 36, so 60 digits never rounds before the one quantize of the rule above.
_EXACT = decimal.Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[decimal.Inexact])


class PricingError(ValueError):
    """The usage cannot be priced (no rate in force, unknown unit, bad quantity)."""


def round6(value: Decimal) -> Decimal:
    """Quantize to 6 places, ROUND_HALF_EVEN; -0 becomes 0 (one canonical form per value)."""
    out = value.quantize(PLACES, rounding=ROUND_HALF_EVEN)
    return ZERO if out == 0 else out


class Amounts(NamedTuple):
    """The three money values of one entry, each already rounded by the rule."""

    platform_cost: Decimal
    tenant_cost: Decimal
    partner_commission: Decimal

    @property
    def negative_margin(self) -> bool:
        """True when the tenant pays less than the platform's cost."""
        return self.tenant_cost < self.platform_cost

    def negated(self) -> Amounts:
        """The amounts of a reversing entry."""
        return Amounts(*(round6(-v) for v in self))


@dataclass(frozen=True)
class Commission:
    """A partner's share: `pct` percent (0-100) of margin or of gross."""

    pct: Decimal
    basis: str = "margin"

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise PricingError(f"commission basis must be margin or gross, got {self.basis!r}")
        if not Decimal(0) <= self.pct <= Decimal(100):
            raise PricingError(f"commission_pct must be within 0..100, got {self.pct}")


@dataclass(frozen=True)
class AppliedRate:
    """What one resource of one event is priced at: cost and price, each per its own unit.

    The price unit can differ from the cost unit: a partner rate is per the unit of the system
    rate version it was set against, which may differ from the version in force for cost.
    """

    cost_rate: Decimal
    cost_unit: str
    price_rate: Decimal
    price_unit: str
    system_rate_id: UUID | None = None
    partner_rate_id: UUID | None = None
    """Set when the partner's rate replaced the system billing rate."""


def _per_unit(quantity: Decimal, rate: Decimal, unit: str) -> Decimal:
    try:
        size = UNIT_SIZE[unit]
    except KeyError:
        raise PricingError(f"unknown unit {unit!r}") from None
    # Division by 10^3 / 10^6 is exact in decimal, so _EXACT's Inexact trap never fires on a
    # well-formed value; if it ever did, raising beats silently rounding twice.
    return _EXACT.divide(_EXACT.multiply(quantity, rate), size)


def price(quantity: int | Decimal, rate: AppliedRate, commission: Commission | None) -> Amounts:
    """Price `quantity` units (tokens) at `rate`; `commission` None for a direct tenant.

    Returns (platform_cost, tenant_cost, partner_commission), each ROUND_HALF_EVEN at 6
    places (see the module docstring for the rule and the margin floor).
    """
    if isinstance(quantity, float) or isinstance(rate.cost_rate, float):
        raise PricingError("money and quantities are never floats")
    qty = Decimal(quantity)
    if qty < 0:
        raise PricingError(f"quantity must not be negative, got {qty}")
    try:
        return _price(qty, rate, commission)
    except decimal.Inexact as exc:  # a value beyond NUMERIC(18,6) precision
        raise PricingError(f"amount out of range for {qty} at {rate}") from exc


def _price(qty: Decimal, rate: AppliedRate, commission: Commission | None) -> Amounts:
    platform_cost = round6(_per_unit(qty, rate.cost_rate, rate.cost_unit))
    tenant_cost = round6(_per_unit(qty, rate.price_rate, rate.price_unit))
    if commission is None or commission.pct == 0:
        return Amounts(platform_cost, tenant_cost, ZERO)
    if commission.basis == "gross":
        base = tenant_cost
    else:
        base = max(tenant_cost - platform_cost, Decimal(0))  # floor: see module docstring
    share = round6(_EXACT.divide(_EXACT.multiply(base, commission.pct), Decimal(100)))
    return Amounts(platform_cost, tenant_cost, share)


# --- rate versions and the lookup at an event's time -----------------------------------------


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC (the wire format is RFC 3339)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class SystemRateVersion:
    """One row of system_rates."""

    id: UUID
    model: str
    resource_type: str
    unit: str
    rate: Decimal
    billing_rate: Decimal
    valid_from: datetime
    valid_to: datetime | None


@dataclass(frozen=True)
class PartnerRateVersion:
    """One row of partner_rates, with the model, resource type and unit of its system rate."""

    id: UUID
    partner_id: UUID
    system_rate_id: UUID
    model: str
    resource_type: str
    unit: str
    rate: Decimal
    valid_from: datetime
    valid_to: datetime | None


def in_force(valid_from: datetime, valid_to: datetime | None, at: datetime) -> bool:
    """valid_from <= at < valid_to, with an open end when valid_to is None."""
    at = as_utc(at)
    return as_utc(valid_from) <= at and (valid_to is None or at < as_utc(valid_to))


_V = TypeVar("_V", SystemRateVersion, PartnerRateVersion)


class RateBook:
    """Rate versions loaded for a batch; `resolve` picks the ones in force at a time."""

    def __init__(
        self,
        system: Iterable[SystemRateVersion] = (),
        partner: Iterable[PartnerRateVersion] = (),
    ) -> None:
        self._system: dict[tuple[str, str], list[SystemRateVersion]] = {}
        self._partner: dict[tuple[UUID, str, str], list[PartnerRateVersion]] = {}
        for s in system:
            self._system.setdefault((s.model, s.resource_type), []).append(s)
        for p in partner:
            self._partner.setdefault((p.partner_id, p.model, p.resource_type), []).append(p)
        # Newest first, so overlapping versions (should never exist) resolve to the latest.
        for system_versions in self._system.values():
            system_versions.sort(key=lambda v: as_utc(v.valid_from), reverse=True)
        for partner_versions in self._partner.values():
            partner_versions.sort(key=lambda v: as_utc(v.valid_from), reverse=True)
        # The same lists with each version's window in UTC, converted once here rather than
        # per lookup (`resolve` runs once per entry written).
        self._system_windows = {k: [_window(v) for v in vs] for k, vs in self._system.items()}
        self._partner_windows = {k: [_window(v) for v in vs] for k, vs in self._partner.items()}
        self._applied: dict[tuple[UUID, UUID | None], AppliedRate] = {}

    def resolve(self, model: str, resource_type: str, partner_id: UUID | None, at: datetime) -> AppliedRate:
        """The rate of `model`/`resource_type` for a tenant of `partner_id` at `at`.

        Raises PricingError when no system rate is in force then: without a platform cost
        the entry cannot be priced (the consumer dead-letters the event).
        """
        at = as_utc(at)
        system = _in_force_at(self._system_windows.get((model, resource_type), ()), at)
        if system is None:
            raise PricingError(f"no rate for model {model!r} {resource_type} at {at}")
        partner = None
        if partner_id is not None:
            partner = _in_force_at(self._partner_windows.get((partner_id, model, resource_type), ()), at)
        key = (system.id, None if partner is None else partner.id)
        applied = self._applied.get(key)
        if applied is None:  # one AppliedRate per pair of versions, reused for every entry
            if partner is None:
                applied = AppliedRate(system.rate, system.unit, system.billing_rate, system.unit, system.id)
            else:
                applied = AppliedRate(
                    system.rate, system.unit, partner.rate, partner.unit, system.id, partner.id
                )
            self._applied[key] = applied
        return applied


def _window(version: _V) -> tuple[datetime, datetime | None, _V]:
    return as_utc(version.valid_from), None if version.valid_to is None else as_utc(version.valid_to), version


def _in_force_at(windows: Iterable[tuple[datetime, datetime | None, _V]], at: datetime) -> _V | None:
    """The first version whose window holds `at` (UTC), as `in_force` decides."""
    for valid_from, valid_to, version in windows:
        if valid_from <= at and (valid_to is None or at < valid_to):
            return version
    return None
