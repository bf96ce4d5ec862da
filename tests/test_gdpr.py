"""GDPR (docs/gdpr.md): a tenant admin downloads everything the workspace holds, and an app
admin erases a tenant; its ledger entries stay, unchanged, and still verify."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from helpers.api import ApiUser, app_admin, member, register
from helpers.chat_fixtures import open_session, priced_fake_agent
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.platform import Platform, chat, platform_with_ledger
from ledger.verify import verify
from runtime import db
from runtime.tables import TENANT_TABLES
from web.tenant.erasure import KEPT, TOMBSTONE_NAME, exported_tables


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with platform_with_ledger(fake_llm) as running:
        yield running


@pytest.fixture
async def billed(platform: Platform) -> AsyncIterator[tuple[ApiUser, int]]:
    """A tenant that chatted once and was billed: (its admin, its ledger entries)."""
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client)
        bot = await priced_fake_agent(admin)
        session = await open_session(admin, bot["id"])
        async with chat(platform, session, admin.token) as ws:
            execution = await ws.message("my secret plans [[reply:5]]")
            assert (await ws.reply(execution))["type"] == "execution.completed"
        key = await admin.post("/api/v1/tenant/api-keys", json={"name": "ci"})
        assert key.status_code == 201

        async def entries() -> int:
            return len((await admin.get("/api/v1/ledger/entries")).json()["entries"])

        count = await eventually(entries, lambda n: n > 0, "the chat's ledger entries")
        yield admin, count


async def _rows(tenant_id: str) -> dict[str, int]:
    async with db.scope(system=True):
        return {
            t: (
                await db.fetchrow(f"SELECT count(*) AS n FROM {t} WHERE tenant_id = $1", uuid.UUID(tenant_id))
            )["n"]  # noqa: S608
            for t in TENANT_TABLES
        }


async def test_a_tenant_admin_downloads_the_workspace_without_its_secrets(
    billed: tuple[ApiUser, int],
) -> None:
    admin, entries = billed
    r = await admin.get("/api/v1/tenant/export")
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    archive = json.loads(r.content)
    assert archive["format"] == "hirebuddha-export/1" and archive["tenant_id"] == admin.tenant_id
    assert archive["tenant"]["id"] == admin.tenant_id and "webhook_secret" not in archive["tenant"]
    tables = archive["tables"]
    assert list(tables) == exported_tables()
    assert [u["email"] for u in tables["users"]] == [admin.email]
    assert all("hashed_password" not in u for u in tables["users"])
    assert [k["name"] for k in tables["api_keys"]] == ["ci"] and "key_hash" not in tables["api_keys"][0]
    assert "my secret plans [[reply:5]]" in [m["content"] for m in tables["messages"]]
    assert len(tables["ledger_entries"]) == entries
    assert all(row["tenant_id"] == admin.tenant_id for rows in tables.values() for row in rows)
    user = await member(admin)
    assert (await user.get("/api/v1/tenant/export")).status_code == 403
    audit = (await admin.get("/api/v1/tenant/audit", params={"action": "tenant.export"})).json()
    assert audit["items"], audit


async def test_an_app_admin_erases_a_tenant_and_its_ledger_still_verifies(
    billed: tuple[ApiUser, int],
) -> None:
    admin, entries = billed
    root = await app_admin(admin.client)
    url = f"/api/v1/admin/tenants/{admin.tenant_id}"
    wrong = await root.delete(url, params={"confirm": "not its name"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "bad_request"
    name = (await admin.get("/api/v1/tenant")).json()["name"]
    assert (await admin.delete(url, params={"confirm": name})).status_code == 403
    before = await _rows(admin.tenant_id)
    assert before["messages"] and before["users"] and before["ledger_entries"] == entries

    r = await root.delete(url, params={"confirm": name})
    assert r.status_code == 204, r.text

    after = await _rows(admin.tenant_id)
    assert {t: n for t, n in after.items() if n and t not in KEPT} == {}
    assert after["ledger_entries"] == entries and after["audit_log"] >= before["audit_log"]
    async with db.scope(system=True):
        tomb = await db.fetchrow("SELECT name, status FROM tenants WHERE id = $1", uuid.UUID(admin.tenant_id))
    assert tomb is not None and (tomb["name"], tomb["status"]) == (TOMBSTONE_NAME, "deleted")
    login = await admin.client.post("/api/v1/auth/login", json={"email": admin.email, "password": "x" * 12})
    assert login.status_code == 401
    assert (await admin.get("/api/v1/tenant")).status_code == 401

    report = await verify()
    assert [p for p in report.problems if str(p.tenant_id) == admin.tenant_id] == []
    assert report.totals[uuid.UUID(admin.tenant_id)][0] == entries
    again = await root.delete(url, params={"confirm": TOMBSTONE_NAME})
    assert again.status_code == 409
    own = await root.delete(f"/api/v1/admin/tenants/{root.tenant_id}", params={"confirm": "x"})
    assert own.status_code in (400, 409)
