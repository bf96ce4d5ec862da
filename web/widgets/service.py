"""Widgets: a tenant admin's embeddable chat for one agent, and what its visitors may do.

A widget names an agent, the origins of the pages it may run on, a greeting, colours
(text on primary must pass WCAG AA) and per-visitor and per-key message rates. Its
`public_key` (`wk_...`) is public: the host page names it in the `<script>` tag. What binds a
visitor to the widget's tenant and agent is the key plus the browser's Origin (checked
against `allowed_origins` on the config request and on the socket) plus a visitor token
signed by us (web.widgets.visitor). docs/channels.md "Web widget".
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar.exceptions import NotFoundException

from runtime import db
from web import audit
from web.agents import repository as agents
from web.auth import ratelimit
from web.auth.identity import Principal
from web.branding.service import check_contrast
from web.channels import conversations
from web.executions.service import Rejected
from web.widgets import repository as repo
from web.widgets import visitor as tokens

NEW_VISITORS_PER_MIN = 30
"""New visitors (sessions) one client IP may start per minute on one widget."""


class WidgetRefused(Rejected):
    """A visitor request the widget refuses (foreign origin, rate): a REST problem or, on the
    socket, an `error` frame (a `Rejected`, so the chat connection reports it as one)."""


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    check_contrast({"text_color on primary_color": (values["text_color"], values["primary_color"])})
    values["allowed_origins"] = sorted({o.rstrip("/").lower() for o in values["allowed_origins"]})
    return values


class WidgetService:
    """A tenant admin's widgets; every query in the tenant's scope, filtered by it."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.tenant_id, self.ip = me, me.tenant_id, ip

    async def _audit(self, action: str, widget_id: uuid.UUID) -> None:
        await audit.record(
            action,
            tenant_id=self.tenant_id,
            actor_id=self.me.id,
            target_type="widget",
            target_id=widget_id,
            ip=self.ip,
        )

    async def create(self, values: dict[str, Any]) -> Any:
        values = _checked(values)
        async with db.scope(self.tenant_id):
            if not await agents.exists(self.tenant_id, values["agent_id"]):
                raise NotFoundException("Agent not found.")
            row = await repo.insert(self.tenant_id, "wk_" + secrets.token_urlsafe(18), values)
            await self._audit("widget.create", row["id"])
            return row

    async def update(self, widget_id: uuid.UUID, values: dict[str, Any]) -> Any:
        values = _checked(values)
        async with db.scope(self.tenant_id):
            if not await agents.exists(self.tenant_id, values["agent_id"]):
                raise NotFoundException("Agent not found.")
            row = await repo.update(self.tenant_id, widget_id, values)
            if row is None:
                raise NotFoundException("Widget not found.")
            await self._audit("widget.update", widget_id)
        return row

    async def listing(self) -> Sequence[Any]:
        async with db.scope(self.tenant_id):
            return await repo.listing(self.tenant_id)

    async def get(self, widget_id: uuid.UUID) -> Any:
        async with db.scope(self.tenant_id):
            row = await repo.one(self.tenant_id, widget_id)
        if row is None:
            raise NotFoundException("Widget not found.")
        return row

    async def delete(self, widget_id: uuid.UUID) -> None:
        async with db.scope(self.tenant_id):
            if not await repo.delete(self.tenant_id, widget_id):
                raise NotFoundException("Widget not found.")
            await self._audit("widget.delete", widget_id)


# --- the visitor's side (no caller: the public key and the Origin) ----------------------


async def public_widget(public_key: str) -> Any:
    """The active widget of `public_key`, or 404."""
    if not public_key.startswith("wk_") or len(public_key) > 40:
        raise WidgetRefused("not_found", "No such widget.", 404)
    async with db.scope(system=True):  # a visitor names only the public key, not a tenant
        row = await repo.by_key(public_key)
    if row is None:
        raise WidgetRefused("not_found", "No such widget.", 404)
    return row


def origin_allowed(widget: Any, origin: str | None, host: str | None, *, missing_ok: bool = False) -> bool:
    """A page on one of the widget's origins, or the console itself (its preview). Browsers
    always send Origin on a WebSocket and on a cross-origin fetch; a same-origin GET (the
    console's live preview) has none, which `missing_ok` admits for the public config."""
    if not origin:
        return missing_ok
    if origin.rstrip("/").lower() in widget["allowed_origins"]:
        return True
    return bool(host) and urlsplit(origin).netloc == host


def refuse_origin(widget: Any, origin: str | None, host: str | None, *, missing_ok: bool = False) -> None:
    if not origin_allowed(widget, origin, host, missing_ok=missing_ok):
        raise WidgetRefused(
            "widget_origin_refused", "This widget is not allowed on this site (Origin not in its list).", 403
        )


@dataclass(frozen=True)
class Visit:
    """A visitor admitted on a widget's socket."""

    me: Principal
    session_id: uuid.UUID
    token: str
    new: bool


async def visit(widget: Any, token: str | None, ip: str) -> Visit:
    """The returning visitor of a genuine token, else a new visitor with a new session."""
    tenant_id, widget_id = widget["tenant_id"], widget["id"]
    known = tokens.read(token, widget_id) if token else None
    if known is not None:
        visitor, session_id = known
        async with db.scope(tenant_id):
            ours = await repo.visitor_session(tenant_id, widget_id, visitor, session_id)
        if ours:
            me = conversations.visitor_principal(tenant_id, widget["partner_id"], visitor)
            return Visit(me, session_id, token or "", new=False)
    retry = await ratelimit.hit({f"widget:{widget_id}:new:{ip}": NEW_VISITORS_PER_MIN}, 60)
    if retry is not None:
        raise WidgetRefused("visitor_rate_limited", f"Too many new conversations; retry in {retry} s.", 429)
    visitor = uuid.uuid4()
    title = f"{widget['name']} · visitor {visitor.hex[:8]}"
    session_id = await conversations.session_for(
        tenant_id, widget["agent_id"], "widget", widget_id, str(visitor), title
    )
    me = conversations.visitor_principal(tenant_id, widget["partner_id"], visitor)
    return Visit(me, session_id, tokens.issue(widget_id, visitor, session_id), new=True)


async def admit_message(widget: Any, me: Principal) -> None:
    """Count a visitor's message against its own and the widget's per-minute rates."""
    widget_id = widget["id"]
    retry = await ratelimit.hit(
        {
            f"widget:{widget_id}:visitor:{me.id}": widget["visitor_rate_per_min"],
            f"widget:{widget_id}": widget["key_rate_per_min"],
        },
        60,
    )
    if retry is not None:
        raise WidgetRefused("visitor_rate_limited", f"Too many messages; retry in {retry} s.", 429)
