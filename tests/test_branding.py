"""White-label: a partner's brand (refused below WCAG AA), resolved for its tenants, for its
console hostname, in its tenants' widgets and in their mail (docs/channels.md "White-label")."""

from __future__ import annotations

import uuid

import pytest

from helpers.api import agent, app_admin, login, partner, register, resold_tenant
from helpers.smtp import body
from runtime.branding import DEFAULT, send_branded
from runtime.mail import Mail

pytestmark = pytest.mark.usefixtures("server")

BRAND = {
    "product_name": "Acme Talent",
    "primary_color": "#0b5394",
    "accent_color": "#0b5394",
    "support_email": "help@acme-talent.example",
    "logo_url": "https://acme-talent.example/logo.png",
}


async def branded_partner(client, host: str | None = None):
    reseller = await partner(await app_admin(client))
    r = await reseller.put("/api/v1/partner/brand", json=BRAND | {"console_host": host})
    assert r.status_code == 200, r.text
    return reseller


async def test_a_brand_failing_wcag_aa_is_refused_with_the_reason(client):
    reseller = await partner(await app_admin(client))
    for colours, named in (
        ({"primary_color": "#ffd966", "accent_color": "#0b5394"}, "white text on primary_color"),
        ({"primary_color": "#0b5394", "accent_color": "#f6dcd4"}, "accent_color text"),
    ):
        r = await reseller.put("/api/v1/partner/brand", json=BRAND | colours)
        assert r.status_code == 422 and r.json()["code"] == "brand_contrast", r.text
        assert named in r.json()["detail"] and "4.5:1" in r.json()["detail"]
    assert (await reseller.get("/api/v1/partner/brand")).json()["product_name"] == DEFAULT.product_name
    bad = await reseller.put("/api/v1/partner/brand", json=BRAND | {"primary_color": "red"})
    assert bad.status_code == 400


async def test_a_partners_tenant_its_hostname_and_its_widget_show_the_partners_brand(client):
    host = f"console-{uuid.uuid4().hex[:8]}.acme-talent.example"
    reseller = await branded_partner(client, host)
    tenant, address = await resold_tenant(reseller)
    resold = await login(client, address)
    mine = (await resold.get("/api/v1/me/brand")).json()
    assert mine["product_name"] == "Acme Talent" and mine["primary_color"] == "#0b5394"
    assert (await reseller.get("/api/v1/me/brand")).json()["product_name"] == "Acme Talent"
    # Before sign-in the hostname decides; another host gets the platform's Rose Gold.
    assert (await client.get("/api/v1/brand", headers={"Host": host})).json()["product_name"] == "Acme Talent"
    assert (await client.get("/api/v1/brand")).json()["product_name"] == "Hirebuddha"
    direct = await register(client)
    assert (await direct.get("/api/v1/me/brand")).json()["primary_color"] == DEFAULT.primary_color
    # The tenant's widget carries the brand to its visitors.
    helper = await agent(resold)
    widget = await resold.post(
        "/api/v1/widgets",
        json={"agent_id": helper["id"], "name": "Help", "allowed_origins": ["https://a.example"]},
    )
    config = await client.get(
        f"/api/v1/widgets/{widget.json()['public_key']}/config", headers={"Origin": "https://a.example"}
    )
    assert config.json()["brand"]["product_name"] == "Acme Talent"
    # A second partner cannot take the same console hostname.
    other = await partner(await app_admin(client))
    taken = await other.put("/api/v1/partner/brand", json=BRAND | {"console_host": host})
    assert taken.status_code == 409 and taken.json()["code"] == "conflict"
    assert tenant["id"]


async def test_a_partners_tenant_gets_mail_in_the_partners_brand(client, mailbox):
    reseller = await branded_partner(client)
    tenant, address = await resold_tenant(reseller)
    await send_branded(
        uuid.UUID(tenant["id"]), Mail(to=(address,), subject="Your invoice", text="Total: 12.00 EUR")
    )
    [message] = await mailbox.wait_for(to=address, subject="Your invoice")
    assert message["From"].addresses[0].display_name == "Acme Talent"
    assert str(message["Reply-To"]) == "help@acme-talent.example"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Acme Talent" in html and "background:#0b5394" in html and "Total: 12.00 EUR" in html
    assert body(message).rstrip().endswith("help@acme-talent.example")
    # The partner's preview mail goes to the partner admin through the web process.
    r = await reseller.post("/api/v1/partner/brand/preview-mail")
    assert r.status_code == 202 and r.json()["sent_to"] == reseller.email
    [preview] = await mailbox.wait_for(to=reseller.email, subject="Acme Talent")
    assert preview["From"].addresses[0].display_name == "Acme Talent"
    # A direct tenant's mail is the platform's.
    direct = await register(client)
    await send_branded(uuid.UUID(direct.tenant_id), Mail(to=(direct.email,), subject="Welcome", text="Hi"))
    [plain] = await mailbox.wait_for(to=direct.email, subject="Welcome")
    assert plain["From"].addresses[0].display_name == "Hirebuddha"


async def test_the_platforms_own_mails_to_a_partners_tenant_wear_the_partners_brand(client, mailbox):
    """Invitations (identity) are sent through the branded sender: the resold tenant's invitee
    sees the partner's product name as the sender and its support address as Reply-To."""
    reseller = await branded_partner(client)
    _, address = await resold_tenant(reseller, "Branded Invites Co")
    admin = await login(client, address)
    invitee = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    r = await admin.post("/api/v1/tenant/invitations", json={"email": invitee})
    assert r.status_code == 201, r.text
    [message] = await mailbox.wait_for(to=invitee, subject="invited")
    assert "Acme Talent" in str(message["From"]), message["From"]
    assert str(message["Reply-To"]) == BRAND["support_email"]
    assert "Acme Talent" in body(message)
