"""A partner admin's brand, and the brand a console page shows (docs/channels.md
"White-label"). Resolution itself lives in `runtime.branding` so every process (billing in
the ledger, invitations in web) dresses mail the same way."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from runtime import db, mail
from runtime.branding import (
    DEFAULT,
    Brand,
    brand_for_host,
    brand_for_partner,
    brand_for_tenant,
    branded,
    host_name,
)
from runtime.errors import CodedError
from web import audit
from web.auth.identity import Principal
from web.branding import contrast
from web.branding import repository as repo

log = logging.getLogger("hirebuddha.web")

log = logging.getLogger("hirebuddha.web")

LIGHT_BACKGROUND = "#fbf3f0"
"""The console's page background: accent text sits on it."""
WHITE = "#ffffff"
"""Text on the primary colour (buttons, headers, the widget's bubble)."""


class BrandRefused(CodedError):
    """Colours that fail WCAG AA contrast (422 `brand_contrast`, the reasons in the detail)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("brand_contrast", "Colours fail WCAG AA contrast: " + "; ".join(reasons), 422)


def check_contrast(pairs: dict[str, tuple[str, str]]) -> None:
    """Refuse (422 `brand_contrast`) when any (text, background) pair is below AA."""
    reasons = contrast.failures(pairs)
    if reasons:
        raise BrandRefused(reasons)


def check_brand(primary: str, accent: str) -> None:
    """A partner brand's pairs: white on the primary colour, the accent on the light page."""
    check_contrast(
        {
            "white text on primary_color": (WHITE, primary),
            "accent_color text on the page background": (accent, LIGHT_BACKGROUND),
            "accent_color text on white": (accent, WHITE),
        }
    )


async def brand_for(me: Principal | None, host: str | None) -> Brand:
    """What a console page shows: the signed-in caller's partner brand, else the host's."""
    if me is not None:
        if me.role in ("tenant_admin", "user"):
            brand = await brand_for_tenant(me.tenant_id)
        else:
            brand = await brand_for_partner(me.partner_id)
        if brand != DEFAULT:
            return brand
    return await brand_for_host(host)


class BrandService:
    """A partner admin's own brand."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        assert me.partner_id is not None  # the route admits partner admins only
        self.me, self.partner_id, self.ip = me, me.partner_id, ip

    async def _audit(self, action: str, **details: Any) -> None:
        await audit.record(
            action,
            tenant_id=self.me.tenant_id,
            actor_id=self.me.id,
            target_type="partner",
            target_id=self.partner_id,
            ip=self.ip,
            **details,
        )

    async def get(self) -> Brand:
        return await brand_for_partner(self.partner_id)

    async def put(self, values: dict[str, Any]) -> Brand:
        check_brand(values["primary_color"], values["accent_color"])
        host = host_name(values.get("console_host")) or None
        async with db.scope(partner_id=self.partner_id):
            await repo.upsert(self.partner_id, {**values, "console_host": host})
        async with db.scope(self.me.tenant_id):
            await self._audit("brand.update", product_name=values.get("product_name"), console_host=host)
        return await self.get()

    async def reset(self) -> Brand:
        async with db.scope(partner_id=self.partner_id):
            await repo.delete(self.partner_id)
        async with db.scope(self.me.tenant_id):
            await self._audit("brand.reset")
        return DEFAULT

    async def preview_mail(self) -> str:
        """Send the partner admin a sample of the mail its tenants get; returns the address."""
        async with db.scope(self.me.tenant_id):
            row = await db.fetchrow(
                "SELECT email FROM users WHERE id = $1 AND tenant_id = $2", self.me.id, self.me.tenant_id
            )
            await self._audit("brand.preview_mail")  # mail sent in the partner's name
        assert row is not None  # the caller was re-read by this very request
        brand = await self.get()
        sample = mail.Mail(
            to=(row["email"],),
            subject=f"{brand.product_name}: how your customers' mail looks",
            text=f"This is how invitations and invoices from {brand.product_name} reach your customers.",
        )
        task = asyncio.get_running_loop().create_task(_send_preview(branded(sample, brand)))
        _SENDING.add(task)  # held until done (the loop keeps only weak references)
        task.add_done_callback(_SENDING.discard)
        return str(row["email"])


_SENDING: set[asyncio.Task[None]] = set()


async def _send_preview(message: mail.Mail) -> None:
    """A preview is a courtesy: sent after the answer (202), a failure only logged."""
    try:
        await mail.send(message)
    except mail.MailError as exc:
        log.warning("brand preview mail not sent: %s", exc)
