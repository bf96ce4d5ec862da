"""`/admin/tiers`: the app admin reads and edits each tier's limits (docs/limits.md).

A change applies at once to every tenant of the tier without its own `max_concurrency`
(the slot rule and the hourly counters read `tier_limits` on every admission), and is
recorded in the audit log with the old and new values.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch
from litestar.di import Provide

from runtime import db
from web import audit
from web.admin.schemas import TierLimitsPatch
from web.auth.guards import requires_app_admin
from web.auth.identity import Principal
from web.deps import found
from web.tenant import limits
from web.tenant.schemas import TierLimitsOut


class TierService:
    """The tier table; every call in the system scope (platform configuration)."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def tiers(self) -> list[dict[str, Any]]:
        """Every tier's limits."""
        async with db.scope(system=True):
            return await limits.tiers()

    async def update(self, tier: str, data: TierLimitsPatch) -> dict[str, Any]:
        """Change the given limits of a tier; audited with the previous values."""
        values = {
            field: value
            for field in TierLimitsPatch.__struct_fields__
            if (value := getattr(data, field)) is not msgspec.UNSET
        }
        async with db.scope(system=True):
            before = found(await limits.tier(tier), "Tier")
            if values:
                await limits.update_tier(tier, values)
                await audit.record(
                    "tier.update",
                    tenant_id=None,
                    actor_id=self.me.id,
                    target_type="tier",
                    ip=self.ip,
                    tier=tier,
                    before={k: before[k] for k in values},
                    after=values,
                )
            return found(await limits.tier(tier), "Tier")


async def provide_tier_service(me: Principal, ip: str | None) -> TierService:
    """The app admin's tier editor."""
    return TierService(me, ip)


class TierController(Controller):
    """Each tier's concurrent executions, requests and API calls per hour."""

    path = "/admin/tiers"
    guards = [requires_app_admin]
    dependencies = {"tier_service": Provide(provide_tier_service)}
    tags = ["admin"]

    @get("/")
    async def list_tiers(self, tier_service: TierService) -> list[TierLimitsOut]:
        """Every tier's limits (null per hour: unlimited)."""
        return msgspec.convert(await tier_service.tiers(), list[TierLimitsOut])

    @patch("/{tier:str}")
    async def patch_tier(self, tier_service: TierService, tier: str, data: TierLimitsPatch) -> TierLimitsOut:
        """Change a tier's limits; tenants of the tier get them on their next admission."""
        return msgspec.convert(await tier_service.update(tier, data), TierLimitsOut)
