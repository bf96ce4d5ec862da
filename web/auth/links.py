"""Single-use links mailed to a person: verify an email, change it, reset a password, join a
claimed domain, accept an invitation (docs/identity.md "Links").

A link carries 256 random bits; only their SHA-256 is stored (`account_tokens`). `consume`
marks a live one used in the same statement that finds it, so a link works once even when
clicked twice at the same moment. Every function runs in the caller's `db.scope`.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import json
import logging
import secrets
import uuid
from typing import Any
from urllib.parse import quote

from runtime import db
from runtime.branding import send_branded
from runtime.mail import Mail, MailError, send
from runtime.settings import get_settings
from runtime.tables import AccountToken
from web.auth.tokens import sha256_hex

log = logging.getLogger("hirebuddha.web")

TTL = {
    "verify_email": dt.timedelta(days=2),
    "change_email": dt.timedelta(days=2),
    "join_domain": dt.timedelta(days=2),
    "reset_password": dt.timedelta(minutes=15),
    "invitation": dt.timedelta(days=7),
}
"""How long each kind of link lives (a reset link: 15 minutes)."""

# The console page each link opens (spa/src/app/router.tsx).
PAGES = {
    "verify_email": "/verify-email",
    "change_email": "/verify-email",
    "join_domain": "/verify-email",
    "reset_password": "/reset-password",
    "invitation": "/accept-invitation",
}

_sending: set[asyncio.Task] = set()


async def issue(
    purpose: str,
    *,
    tenant_id: uuid.UUID,
    email: str,
    user_id: uuid.UUID | None = None,
    role: str | None = None,
    payload: dict[str, Any] | None = None,
    created_by: uuid.UUID | None = None,
    ttl: dt.timedelta | None = None,
) -> tuple[str, uuid.UUID]:
    """A new link token (returned once, stored hashed) and its row id."""
    token = secrets.token_urlsafe(32)
    row = AccountToken(
        tenant=tenant_id,
        user=user_id,
        purpose=purpose,
        token_hash=sha256_hex(token),
        email=email.lower(),
        role=role,
        payload=payload or {},
        created_by=created_by,
        expires_at=dt.datetime.now(dt.UTC) + (ttl or TTL[purpose]),
    )
    await AccountToken.insert(row)
    return token, row.id


async def consume(purposes: tuple[str, ...], token: str) -> dict[str, Any] | None:
    """The live link of one of these purposes, now used; None when unknown, expired or used."""
    if not token or len(token) > 100:
        return None
    row = await db.fetchrow(
        "UPDATE account_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = ANY($2) "
        "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() "
        "RETURNING id, tenant_id, user_id, purpose, email, role, payload, created_by",
        sha256_hex(token),
        list(purposes),
    )
    if row is None:
        return None
    found = dict(row)
    if isinstance(found["payload"], str):
        found["payload"] = json.loads(found["payload"])
    return found


async def revoke_open(user_id: uuid.UUID, purpose: str) -> None:
    """Revoke a user's unused links of one purpose (a new reset link replaces older ones)."""
    await db.execute(
        "UPDATE account_tokens SET revoked_at = now() WHERE user_id = $1 AND purpose = $2 "
        "AND used_at IS NULL AND revoked_at IS NULL",
        user_id,
        purpose,
    )


def url(purpose: str, token: str) -> str:
    """The console address a link opens."""
    return f"{get_settings().http.public_url}{PAGES[purpose]}?token={quote(token)}"


async def _deliver(mail: Mail, tenant_id: uuid.UUID | None) -> None:
    try:
        if tenant_id is None:
            await send(mail)
        else:  # in the brand of the tenant's partner (docs/channels.md "Branded mail")
            await send_branded(tenant_id, mail)
    except MailError:
        log.warning("a %r mail was not delivered; the person can ask for it again", mail.subject)
    except Exception:  # a task's error is otherwise never seen
        log.exception("a %r mail failed before it was sent; the person can ask for it again", mail.subject)


def mail_later(to: str, subject: str, text: str, tenant_id: uuid.UUID | None = None) -> None:
    """Send after the answer: the SMTP round trip neither delays nor reveals anything.

    A refused message is logged (without its recipient) and not retried; every link can be
    asked for again (resend verification, forgot password, re-invite).
    """
    message = Mail(to=(to,), subject=subject, text=text)
    # A fresh context: the caller is usually inside a db.scope whose connection is gone by the
    # time the mail is sent; the branded sender opens a scope of its own.
    task = asyncio.get_running_loop().create_task(_deliver(message, tenant_id), context=contextvars.Context())
    _sending.add(task)
    task.add_done_callback(_sending.discard)


async def drain() -> None:
    """Wait for mails still being sent (shutdown)."""
    if _sending:
        await asyncio.gather(*list(_sending), return_exceptions=True)
