"""A tested restore (docs/operations.md): pg_dump the suite's database, restore it into a fresh
one, and `hirebuddha ledger verify` passes against the copy with the same entries.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg

from conftest import DB_NAME, ROOT
from helpers.ledger import make_tenant, priced_model, usage
from ledger import service

SERVER = "postgresql://postgres@127.0.0.1:5432"


async def _count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM ledger_entries")
    finally:
        await conn.close()


async def test_a_dump_restores_into_a_fresh_database_that_passes_ledger_verify(database, tmp_path):
    tenant, model = await make_tenant(), await priced_model()
    result = await service.record_batch([usage(tenant, model, 1000 + i, 10) for i in range(5)])
    assert not result.rejected
    dump = tmp_path / "hirebuddha.dump"
    await asyncio.to_thread(
        subprocess.run, ["pg_dump", "-Fc", "-f", str(dump), f"{SERVER}/{DB_NAME}"], check=True
    )
    copy = f"hb_restore_{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(
        subprocess.run, ["createdb", "-h", "127.0.0.1", "-U", "postgres", copy], check=True
    )
    try:
        await asyncio.to_thread(
            subprocess.run,
            ["pg_restore", "--exit-on-error", "-d", f"{SERVER}/{copy}", str(dump)],
            check=True,
            capture_output=True,
        )
        assert await _count(f"{SERVER}/{copy}") == await _count(f"{SERVER}/{DB_NAME}") >= 10
        env = {**os.environ, "HB_DATABASE_URL": f"{SERVER}/{copy}"}
        env.pop("HB_APP_DATABASE_URL", None)
        verify = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "runtime.cli", "ledger", "verify"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        # And verify does fail on the copy once an entry is tampered with (owner, trigger off).
        conn = await asyncpg.connect(f"{SERVER}/{copy}")
        try:
            await conn.execute("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
            await conn.execute(
                "UPDATE ledger_entries SET tenant_cost = tenant_cost + 1 "
                "WHERE id = (SELECT id FROM ledger_entries LIMIT 1)"
            )
        finally:
            await conn.close()
        tampered = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "runtime.cli", "ledger", "verify"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert tampered.returncode == 1
    finally:
        await asyncio.to_thread(
            subprocess.run, ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", copy], check=False
        )
