"""ledger_entries' references to tenants and partners, checked once per insert statement
(migration 2026_12_03t16, docs/architecture.md step 8): what the two foreign keys guaranteed."""

from __future__ import annotations

import uuid
from dataclasses import replace

import asyncpg
import pytest

from helpers.ledger import entries_of, make_partner, make_rate, make_tenant, model_name, usage
from ledger import service
from runtime import db
from runtime.settings import get_settings

pytestmark = pytest.mark.usefixtures("database")


async def _priced(tenant: uuid.UUID) -> list:
    model = model_name()
    await make_rate(model, cost="0.5", billing="1.0")
    priced = await service.price_batch([usage(tenant, model, 1000), usage(tenant, model, 2000)])
    return priced.fresh


async def _owner() -> asyncpg.Connection:
    return await asyncpg.connect(get_settings().db.url)


async def test_entries_of_an_unknown_tenant_or_partner_are_refused_and_none_of_their_batch_is_kept() -> None:
    tenant = await make_tenant(await make_partner())
    good, other = await _priced(tenant)
    for bad in (replace(other, tenant_id=uuid.uuid4()), replace(other, partner_id=uuid.uuid4())):
        with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
            async with db.scope(system=True):
                await service._append([good, bad], {})
        assert refused.value.table_name == "ledger_entries"
        assert "unknown" in str(refused.value)
    assert await entries_of(tenant) == []
    async with db.scope(system=True):
        stored = await service._append([good, other], {})
    assert [e.event_id for e in await entries_of(tenant)] == [e.event_id for e in stored]


async def test_a_tenant_or_partner_with_entries_cannot_be_deleted_or_rekeyed_one_without_can() -> None:
    partner = await make_partner()
    tenant = await make_tenant(partner, credit=None)
    async with db.scope(system=True):
        await service._append(await _priced(tenant), {})
    conn = await _owner()
    try:
        for statement in (
            "DELETE FROM tenants WHERE id = $1",
            "UPDATE tenants SET id = gen_random_uuid() WHERE id = $1",
        ):
            with pytest.raises(asyncpg.ForeignKeyViolationError, match="has ledger entries"):
                await conn.execute(statement, tenant)
        for statement in (
            "DELETE FROM partners WHERE id = $1",
            "UPDATE partners SET id = gen_random_uuid() WHERE id = $1",
        ):
            with pytest.raises(asyncpg.ForeignKeyViolationError, match="has ledger entries"):
                await conn.execute(statement, partner)
        # Other columns change freely, and a tenant the ledger never wrote for can go.
        await conn.execute("UPDATE tenants SET name = name || ' renamed' WHERE id = $1", tenant)
        unused = await make_tenant(credit=None)
        assert await conn.execute("DELETE FROM tenants WHERE id = $1", unused) == "DELETE 1"
    finally:
        await conn.close()


async def test_an_open_write_holds_its_tenant_row_as_the_foreign_key_did() -> None:
    tenant = await make_tenant()
    entries = await _priced(tenant)
    conn = await _owner()
    try:
        async with db.scope(system=True):
            await service._append(entries, {})
            with pytest.raises(asyncpg.LockNotAvailableError):
                await conn.fetchval("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE NOWAIT", tenant)
        assert await conn.fetchval("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE NOWAIT", tenant) == 1
    finally:
        await conn.close()
