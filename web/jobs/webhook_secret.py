"""`/tenant/webhook-secret`: the secret that signs the tenant's webhooks (created on first use)."""

from __future__ import annotations

import secrets

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException

from runtime import crypto, db
from web import audit
from web.auth.guards import requires_tenant_admin
from web.deps import principal


class WebhookSecretOut(msgspec.Struct):
    """Verify `Hirebuddha-Signature: t=<ts>,v1=<hex>` as HMAC-SHA256(secret, "<ts>." + body)."""

    secret: str


def _new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSecretController(Controller):
    """Read and rotate the tenant's webhook signing secret."""

    path = "/tenant/webhook-secret"
    guards = [requires_tenant_admin]
    tags = ["tenant"]

    @get("/")
    async def get_webhook_secret(self, request: Request) -> WebhookSecretOut:
        """The secret (created now if the tenant has none)."""
        tenant_id = principal(request).tenant_id
        async with db.scope(tenant_id):
            await db.execute(
                "UPDATE tenants SET webhook_secret = $2 WHERE id = $1 AND webhook_secret IS NULL",
                tenant_id,
                crypto.encrypt(_new()),
            )
            row = await db.fetchrow("SELECT webhook_secret FROM tenants WHERE id = $1", tenant_id)
        if row is None:  # the caller's own tenant: only if it vanished mid-request
            raise NotFoundException("Tenant not found.")
        return WebhookSecretOut(crypto.decrypt(row["webhook_secret"]))

    @post("/rotate", status_code=200)
    async def rotate_webhook_secret(self, request: Request) -> WebhookSecretOut:
        """Replace the secret; deliveries from now on are signed with the new one."""
        tenant_id, secret = principal(request).tenant_id, _new()
        async with db.scope(tenant_id):
            await db.execute(
                "UPDATE tenants SET webhook_secret = $2 WHERE id = $1", tenant_id, crypto.encrypt(secret)
            )
            await audit.record(
                "tenant.webhook_secret_rotate",
                tenant_id=tenant_id,
                actor_id=principal(request).id,
                target_type="tenant",
                target_id=tenant_id,
            )
        return WebhookSecretOut(secret)
