"""The hash chain format: any change to an entry's content or order breaks its hash."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger.chain import Entry, canonical, entry_hash, next_timestamp

AT = datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def entry(**kw: object) -> Entry:
    base = dict(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        partner_id=None,
        execution_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        model="m",
        resource_type="input_tokens",
        quantity=Decimal("10.000000"),
        unit="tokens",
        platform_cost=Decimal("0.000030"),
        tenant_cost=Decimal("0.000060"),
        partner_commission=Decimal("0"),
        reverses_id=None,
        created_at=AT,
        entry_metadata='{"a":1}',
    )
    base.update(kw)
    return Entry(**base)  # type: ignore[arg-type]


def test_hash_is_stable_across_equal_decimal_spellings() -> None:
    e = entry()
    same = dataclasses.replace(e, quantity=Decimal("10"), partner_commission=Decimal("0.000000"))
    assert entry_hash(None, e) == entry_hash(None, same), "values, not their spelling, are hashed"
    assert b'"quantity":"10.000000"' in canonical(e)


@pytest.mark.parametrize(
    "change",
    [
        {"tenant_cost": Decimal("0.000061")},
        {"platform_cost": Decimal("0.000029")},
        {"partner_commission": Decimal("0.000001")},
        {"quantity": Decimal("11")},
        {"model": "other"},
        {"created_at": AT.replace(microsecond=123457)},
        {"entry_metadata": '{"a":2}'},
        {"reverses_id": uuid.uuid4()},
        {"partner_id": uuid.uuid4()},
    ],
)
def test_any_content_change_changes_the_hash(change: dict) -> None:
    e = entry()
    assert entry_hash("p" * 64, e) != entry_hash("p" * 64, dataclasses.replace(e, **change))


def test_hash_depends_on_the_previous_entry() -> None:
    e = entry()
    assert entry_hash(None, e) != entry_hash("0" * 64, e) != entry_hash("1" * 64, e)
    assert e.chained("a" * 64).prev_hash == "a" * 64


def test_timestamps_strictly_increase_even_when_the_clock_is_behind() -> None:
    assert next_timestamp(AT, None) == AT
    assert next_timestamp(AT, AT) == AT.replace(microsecond=123457)
    behind = AT.replace(second=0)
    assert next_timestamp(behind, AT) > AT
