"""An open invoice the tenant cannot pay: the start of the dunning and voiding stories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from billing import invoices
from helpers.api import ApiUser, register
from helpers.chat_fixtures import open_session, priced_fake_agent
from helpers.eventually import eventually
from helpers.platform import Platform, chat
from helpers.stripe import DECLINED_CARD, add_card
from runtime import clock, db


@dataclass
class Unpaid:
    """A registered tenant with a declined card, a priced agent, one of its sessions, and an
    open invoice for a period of its own."""

    admin: ApiUser
    bot: dict[str, Any]
    session: str
    tenant: uuid.UUID
    invoice: dict[str, Any]


async def unpaid_invoice(
    platform: Platform, client: httpx.AsyncClient, localstripe: Any, year: int
) -> Unpaid:
    """One metered chat, a declined card, and its usage closed into an invoice dated `year`
    (a period no other test of the run uses)."""
    admin = await register(client)
    bot = await priced_fake_agent(admin)
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        reply = await ws.reply(await ws.message("[[reply:5]] hello"))
        assert reply["type"] == "execution.completed", reply
    await add_card(admin, localstripe, DECLINED_CARD)
    tenant = uuid.UUID(admin.tenant_id)

    async def entries() -> int:
        async with db.scope(tenant):
            return len(await db.fetch("SELECT id FROM ledger_entries WHERE tenant_id = $1", tenant))

    await eventually(entries, lambda n: n > 0, "the chat's usage in the ledger", 20)
    start = invoices.period_of((await clock.now()).replace(year=year))[0]
    async with db.scope(tenant):
        invoice = await invoices.close_period(tenant, start, invoices.period_of(start)[1])
    assert invoice is not None and invoice["status"] == "open" and invoice["total_amount"] > 0
    return Unpaid(admin, bot, session, tenant, dict(invoice))
