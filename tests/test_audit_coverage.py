"""Every admin action writes an audit row (issue 20): each route an admin changes something
with is listed here with the action it records, a new one fails until it is, and the actions
not exercised by tests/test_audit.py are done for real here and found in the trail."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from litestar.handlers import HTTPRouteHandler

from helpers.api import ApiUser, app_admin, login, member, partner, register, resold_tenant, system_rate

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PATHS = re.compile(
    r"^/api/v1/(admin|partner|tenant|widgets|channels)(/|$)|^/api/v1/agents"
    r"|^/api/v1/workflows(/tool-hosts|/\{workflow_id:uuid\})?$"  # definitions, not runs
)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}

# (method, path) -> the audit action it records.
AUDITED = {
    ("POST", "/api/v1/admin/partners"): "partner.create",
    ("PATCH", "/api/v1/admin/tiers/{tier:str}"): "tier.update",
    ("DELETE", "/api/v1/admin/tenants/{tenant_id:uuid}"): "tenant.delete",
    ("PATCH", "/api/v1/admin/tenants/{tenant_id:uuid}"): "tenant.update",  # or tenant.suspend/resume
    ("POST", "/api/v1/admin/tenants/{tenant_id:uuid}/credit"): "credit.top_up",
    ("POST", "/api/v1/admin/rates"): "rate.create",
    ("POST", "/api/v1/admin/dead-letters/{dead_letter_id:uuid}/retry"): "dead_letter.retry",
    ("POST", "/api/v1/admin/models"): "model.create",
    ("PATCH", "/api/v1/admin/models/{model_id:uuid}"): "model.update",
    ("PUT", "/api/v1/admin/providers/{name:str}"): "provider.update",
    ("DELETE", "/api/v1/admin/providers/{name:str}"): "provider.delete",
    ("POST", "/api/v1/admin/providers/{name:str}/test"): "provider.test",
    ("POST", "/api/v1/partner/tenants"): "tenant.create",
    ("PATCH", "/api/v1/partner/tenants/{tenant_id:uuid}"): "tenant.suspend",  # or tenant.resume
    ("PUT", "/api/v1/partner/rates"): "partner.rates_update",
    ("PATCH", "/api/v1/tenant"): "tenant.update",
    ("POST", "/api/v1/tenant/users"): "tenant.user_create",
    ("PATCH", "/api/v1/tenant/users/{user_id:uuid}"): "tenant.user_update",
    ("DELETE", "/api/v1/tenant/users/{user_id:uuid}"): "tenant.user_update",
    ("POST", "/api/v1/tenant/api-keys"): "tenant.api_key_create",
    ("DELETE", "/api/v1/tenant/api-keys/{key_id:uuid}"): "tenant.api_key_revoke",
    ("POST", "/api/v1/tenant/webhook-secret/rotate"): "tenant.webhook_secret_rotate",
    ("PUT", "/api/v1/tenant/budget"): "budget.update",
    ("PUT", "/api/v1/tenant/escalation-rules"): "tenant.escalation_rules",
    # Identity (docs/identity.md); exercised in tests/test_identity_*.py.
    ("POST", "/api/v1/tenant/invitations"): "invitation.create",
    ("DELETE", "/api/v1/tenant/invitations/{invitation_id:uuid}"): "invitation.revoke",
    ("POST", "/api/v1/tenant/domains"): "domain.claim",
    ("DELETE", "/api/v1/tenant/domains/{claim_id:uuid}"): "domain.withdraw",
    ("POST", "/api/v1/admin/domain-claims/{claim_id:uuid}/verify"): "domain.verify",
    ("PUT", "/api/v1/tenant/security"): "tenant.require_mfa",
    ("POST", "/api/v1/tenant/support-access"): "support.grant",
    ("DELETE", "/api/v1/tenant/support-access/{grant_id:uuid}"): "support.revoke",
    ("POST", "/api/v1/admin/identity-providers"): "identity_provider.create",
    ("PATCH", "/api/v1/admin/identity-providers/{provider_id:uuid}"): "identity_provider.update",
    ("DELETE", "/api/v1/admin/identity-providers/{provider_id:uuid}"): "identity_provider.delete",
    ("PUT", "/api/v1/tenant/users/{user_id:uuid}/budget"): "budget.user_cap",
    ("POST", "/api/v1/agents"): "agent.create",
    ("PATCH", "/api/v1/agents/{agent_id:uuid}"): "agent.update",
    ("DELETE", "/api/v1/agents/{agent_id:uuid}"): "agent.delete",
    ("PUT", "/api/v1/agents/{agent_id:uuid}/documents"): "agent.documents",
    # Billing (docs/billing.md); exercised in tests/test_billing_*.py.
    ("POST", "/api/v1/tenant/billing/setup-intents"): "billing.setup_intent.create",
    ("POST", "/api/v1/tenant/billing/payment-methods"): "billing.payment_method.add",
    (
        "POST",
        "/api/v1/tenant/billing/payment-methods/{method_id:uuid}/default",
    ): "billing.payment_method.default",
    ("DELETE", "/api/v1/tenant/billing/payment-methods/{method_id:uuid}"): "billing.payment_method.remove",
    ("POST", "/api/v1/tenant/billing/credit"): "billing.credit.buy",
    ("PUT", "/api/v1/tenant/billing/subscription"): "billing.subscription.change",
    ("DELETE", "/api/v1/tenant/billing/subscription"): "billing.subscription.cancel",
    ("POST", "/api/v1/admin/billing/plans"): "billing.plan.create",
    ("PATCH", "/api/v1/admin/billing/plans/{plan_id:uuid}"): "billing.plan.update",
    ("POST", "/api/v1/admin/billing/close-period"): "billing.period.close",
    ("POST", "/api/v1/admin/billing/invoices/{invoice_id:uuid}/void"): "billing.invoice.void",
    # Workflows (docs/workflows.md); exercised in tests/test_workflows.py.
    ("POST", "/api/v1/workflows"): "workflow.create",
    ("PATCH", "/api/v1/workflows/{workflow_id:uuid}"): "workflow.update",
    ("DELETE", "/api/v1/workflows/{workflow_id:uuid}"): "workflow.delete",
    ("PUT", "/api/v1/workflows/tool-hosts"): "workflow.tool_hosts",
    # Channels and white-label (docs/channels.md).
    ("PUT", "/api/v1/partner/brand"): "brand.update",
    ("DELETE", "/api/v1/partner/brand"): "brand.reset",
    ("POST", "/api/v1/partner/brand/preview-mail"): "brand.preview_mail",
    ("POST", "/api/v1/widgets"): "widget.create",
    ("PUT", "/api/v1/widgets/{widget_id:uuid}"): "widget.update",
    ("DELETE", "/api/v1/widgets/{widget_id:uuid}"): "widget.delete",
    ("POST", "/api/v1/channels"): "channel.create",
    ("DELETE", "/api/v1/channels/{channel_id:uuid}"): "channel.delete",
}


def admin_writes() -> set[tuple[str, str]]:
    from web.app import create_app

    found = set()
    for route in create_app().routes:
        for handler in getattr(route, "route_handlers", None) or []:
            public = bool((handler.opt or {}).get("exclude_from_auth"))  # webhooks of outside systems
            if isinstance(handler, HTTPRouteHandler) and ADMIN_PATHS.search(route.path) and not public:
                found |= {(m, route.path) for m in handler.http_methods & WRITES}
    return found


def test_every_admin_write_route_names_the_audit_action_it_records():
    routes = admin_writes()
    assert routes - AUDITED.keys() == set(), "admin routes with no audit action listed here"
    assert AUDITED.keys() - routes == set(), "listed routes that no longer exist"
    source = "\n".join(p.read_text() for p in (ROOT / "web").rglob("*.py"))
    for action in set(AUDITED.values()) - {"tenant.suspend"}:
        assert f'"{action}"' in source, f"nothing in web/ records {action!r}"
    assert "f\"tenant.{'suspend' if status == 'suspended' else 'resume'}\"" in source


async def trail(root: ApiUser, **params) -> list[dict]:
    r = await root.get("/api/v1/admin/audit", params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_platform_admin_actions_are_in_the_trail(client, fake_llm):
    root = await app_admin(client)
    tenant = await register(client, "Trail Co")
    name = f"trail{uuid.uuid4().hex[:6]}"
    r = await root.put(
        f"/api/v1/admin/providers/{name}", json={"base_url": fake_llm.base_url, "api_key": "k"}
    )
    assert r.status_code == 200, r.text
    r = await root.post(f"/api/v1/admin/providers/{name}/test")
    assert r.status_code == 200 and r.json()["ok"], r.text
    assert (await root.delete(f"/api/v1/admin/providers/{name}")).status_code == 204
    r = await root.post(
        f"/api/v1/admin/tenants/{tenant.tenant_id}/credit", json={"amount": "5", "note": "trial"}
    )
    assert r.status_code == 201, r.text
    model = f"trail-{uuid.uuid4().hex[:6]}"
    r = await system_rate(root, model)
    assert r.status_code == 201, r.text
    r = await root.post(
        "/api/v1/admin/models",
        json={"model_key": model, "provider": "openai", "model_name": "Trail", "is_active": False},
    )
    assert r.status_code == 201, r.text
    r = await root.patch(f"/api/v1/admin/models/{r.json()['id']}", json={"model_name": "Trail 2"})
    assert r.status_code == 200, r.text
    r = await root.patch(f"/api/v1/admin/tenants/{tenant.tenant_id}", json={"status": "suspended"})
    assert r.status_code == 200, r.text
    tiers = (await root.get("/api/v1/admin/tiers")).json()
    enterprise = next(t for t in tiers if t["tier"] == "enterprise")
    same = {"concurrent_executions": enterprise["concurrent_executions"]}  # a write that changes nothing
    assert (await root.patch("/api/v1/admin/tiers/enterprise", json=same)).status_code == 200
    doomed = await register(client, "Erased Co")
    r = await root.delete(f"/api/v1/admin/tenants/{doomed.tenant_id}", params={"confirm": "Erased Co"})
    assert r.status_code == 204, r.text

    mine = await trail(root, actor=root.user_id)
    seen = {e["action"] for e in mine}
    for action in (
        "provider.update",
        "provider.test",
        "provider.delete",
        "credit.top_up",
        "rate.create",
        "model.create",
        "model.update",
        "tenant.suspend",
        "tier.update",
        "tenant.delete",
    ):
        assert action in seen, (action, seen)
    tested = next(e for e in mine if e["action"] == "provider.test")
    assert tested["details"] == {"provider": name, "ok": True, "status": 200}


async def test_partner_and_tenant_admin_actions_are_in_the_trail(client):
    root = await app_admin(client)
    reseller = await partner(root)
    resold, _ = await resold_tenant(reseller)
    r = await reseller.patch(f"/api/v1/partner/tenants/{resold['id']}", json={"status": "suspended"})
    assert r.status_code == 200, r.text
    tenant = await register(client, "Keys Co")
    r = await tenant.post("/api/v1/tenant/api-keys", json={"name": "ci"})
    assert r.status_code == 201, r.text
    assert (await tenant.delete(f"/api/v1/tenant/api-keys/{r.json()['id']}")).status_code == 204
    assert (await tenant.put("/api/v1/tenant/budget", json={"monthly_cap": "50"})).status_code == 200
    rules = {"keywords": ["refund"], "failed_answers": 3, "sentiment_below": None, "agent_tool": False}
    assert (await tenant.put("/api/v1/tenant/escalation-rules", json=rules)).status_code == 200
    colleague = await member(tenant)
    r = await tenant.put(f"/api/v1/tenant/users/{colleague.user_id}/budget", json={"monthly_cap": "5"})
    assert r.status_code in (200, 204), r.text
    bot = await tenant.post(
        "/api/v1/agents",
        json={"name": "A", "role": "r", "llm_config": {"model": "demo-1", "provider": "demo"}},
    )
    assert bot.status_code == 201, bot.text
    assert (await tenant.patch(f"/api/v1/agents/{bot.json()['id']}", json={"name": "B"})).status_code == 200
    notes = {"file": ("n.txt", b"Audit trail notes.", "text/plain")}
    doc = await tenant.post("/api/v1/documents", files=notes)
    assert doc.status_code == 201, doc.text
    attach = {"document_ids": [doc.json()["id"]]}
    assert (await tenant.put(f"/api/v1/agents/{bot.json()['id']}/documents", json=attach)).status_code == 200
    assert (await tenant.delete(f"/api/v1/agents/{bot.json()['id']}")).status_code == 204

    partner_rows = {e["action"] for e in await trail(root, actor=reseller.user_id)}
    assert {"tenant.create", "tenant.suspend"} <= partner_rows, partner_rows
    tenant_rows = {e["action"] for e in await trail(root, tenant_id=tenant.tenant_id)}
    for action in (
        "tenant.api_key_create",
        "tenant.api_key_revoke",
        "budget.update",
        "budget.user_cap",
        "tenant.escalation_rules",
        "agent.create",
        "agent.update",
        "agent.delete",
        "agent.documents",
    ):
        assert action in tenant_rows, (action, tenant_rows)


async def test_identity_admin_actions_are_in_the_trail(client):
    root = await app_admin(client)
    reseller = await partner(root)
    body, address = await resold_tenant(reseller, "Identity Trail Co")
    admin = await login(client, address)
    domain = f"trail-{uuid.uuid4().hex[:8]}.example"
    invited = (await admin.post("/api/v1/tenant/invitations", json={"email": f"in@{domain}"})).json()
    assert (await admin.delete(f"/api/v1/tenant/invitations/{invited['id']}")).status_code == 204
    claim = (await admin.post("/api/v1/tenant/domains", json={"domain": domain})).json()
    assert (await root.post(f"/api/v1/admin/domain-claims/{claim['id']}/verify")).status_code == 200
    assert (await admin.delete(f"/api/v1/tenant/domains/{claim['id']}")).status_code == 204
    assert (await admin.put("/api/v1/tenant/security", json={"require_mfa": False})).status_code == 200
    grant = (await admin.post("/api/v1/tenant/support-access", json={"hours": 1})).json()
    assert (await admin.delete(f"/api/v1/tenant/support-access/{grant['id']}")).status_code == 204
    slug = f"idp{uuid.uuid4().hex[:6]}"
    r = await root.post(
        "/api/v1/admin/identity-providers",
        json={
            "slug": slug,
            "display_name": "Trail IdP",
            "issuer": "http://127.0.0.1:9/idp",  # resolvable; loopback is allowed in tests
            "client_id": "hirebuddha",
            "client_secret": "s3cret-s3cret",
        },
    )
    assert r.status_code == 201, r.text
    provider = r.json()["id"]
    r = await root.patch(f"/api/v1/admin/identity-providers/{provider}", json={"enabled": False})
    assert r.status_code == 200, r.text
    assert (await root.delete(f"/api/v1/admin/identity-providers/{provider}")).status_code == 204

    tenant_rows = {e["action"] for e in await trail(root, tenant_id=body["id"])}
    for action in (
        "invitation.create",
        "invitation.revoke",
        "domain.claim",
        "domain.withdraw",
        "tenant.require_mfa",
        "support.grant",
        "support.revoke",
    ):
        assert action in tenant_rows, (action, tenant_rows)
    mine = {e["action"] for e in await trail(root, actor=root.user_id)}
    for action in (
        "domain.verify",
        "identity_provider.create",
        "identity_provider.update",
        "identity_provider.delete",
    ):
        assert action in mine, (action, mine)


async def test_channel_and_brand_actions_are_in_the_trail(client):
    root = await app_admin(client)
    reseller = await partner(root)
    brand = {"product_name": "Trail Talent", "primary_color": "#0b5394", "accent_color": "#0b5394"}
    assert (await reseller.put("/api/v1/partner/brand", json=brand)).status_code == 200
    assert (await reseller.post("/api/v1/partner/brand/preview-mail")).status_code == 202
    assert (await reseller.delete("/api/v1/partner/brand")).status_code == 200
    tenant = await register(client, "Channels Trail Co")
    bot = await tenant.post(
        "/api/v1/agents",
        json={"name": "A", "role": "r", "llm_config": {"model": "demo-1", "provider": "demo"}},
    )
    assert bot.status_code == 201, bot.text
    widget = {"agent_id": bot.json()["id"], "name": "Help", "allowed_origins": ["https://shop.example"]}
    made = await tenant.post("/api/v1/widgets", json=widget)
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    assert (await tenant.put(f"/api/v1/widgets/{wid}", json=widget | {"name": "Help 2"})).status_code == 200
    assert (await tenant.delete(f"/api/v1/widgets/{wid}")).status_code in (200, 204)
    token = "123456:trail-token-of-the-bot-0123"
    channel = {"kind": "telegram", "agent_id": bot.json()["id"], "name": "Bot", "bot_token": token}
    made = await tenant.post("/api/v1/channels", json=channel)
    assert made.status_code == 201, made.text
    assert (await tenant.delete(f"/api/v1/channels/{made.json()['id']}")).status_code in (200, 204)

    partner_rows = {e["action"] for e in await trail(root, actor=reseller.user_id)}
    assert {"brand.update", "brand.preview_mail", "brand.reset"} <= partner_rows, partner_rows
    tenant_rows = {e["action"] for e in await trail(root, tenant_id=tenant.tenant_id)}
    expected = {"widget.create", "widget.update", "widget.delete", "channel.create", "channel.delete"}
    assert expected <= tenant_rows, tenant_rows
