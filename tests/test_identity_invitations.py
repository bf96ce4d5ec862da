"""Invitations (single-use, expiring, role-setting) and domain claims (verified sign-ups join)."""

from __future__ import annotations

import uuid

import pytest

from helpers.api import PASSWORD, app_admin, email, login, register
from helpers.identity import mailed_link
from runtime import db

pytestmark = pytest.mark.usefixtures("server")


async def _accept(client, token: str, name: str = "Ivy Invitee"):
    return await client.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "full_name": name, "password": PASSWORD}
    )


async def test_an_invitation_sets_the_role_and_works_once(client, mailbox):
    admin = await register(client, workspace="Inviting Co")
    invitee = email("invitee")
    r = await admin.post("/api/v1/tenant/invitations", json={"email": invitee, "role": "tenant_admin"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.json()["role"] == "tenant_admin"
    path, token = await mailed_link(mailbox, invitee, "invited to Inviting Co")
    assert path == "/accept-invitation"

    r = await _accept(client, token)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["tenant_id"] == admin.tenant_id
    assert body["user"]["role"] == "tenant_admin" and body["user"]["is_verified"] is True
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["tenant"]["name"] == "Inviting Co"

    again = await _accept(client, token, "Mallory")
    assert again.status_code == 400 and again.json()["code"] == "invalid_token"
    listed = (await admin.get("/api/v1/tenant/invitations")).json()
    assert [(i["email"], i["status"]) for i in listed] == [(invitee, "accepted")]


async def test_an_expired_or_revoked_invitation_is_refused(client, mailbox):
    admin = await register(client)
    late, withdrawn = email("late"), email("withdrawn")
    r = await admin.post("/api/v1/tenant/invitations", json={"email": late})
    late_id = r.json()["id"]
    r = await admin.post("/api/v1/tenant/invitations", json={"email": withdrawn})
    withdrawn_id = r.json()["id"]
    _, late_token = await mailed_link(mailbox, late, "invited")
    _, withdrawn_token = await mailed_link(mailbox, withdrawn, "invited")

    async with db.scope(system=True):  # seven days later
        await db.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(late_id),
        )
    assert (await admin.delete(f"/api/v1/tenant/invitations/{withdrawn_id}")).status_code == 204
    assert (await admin.delete(f"/api/v1/tenant/invitations/{withdrawn_id}")).status_code == 404

    for token in (late_token, withdrawn_token):
        r = await _accept(client, token)
        assert r.status_code == 400 and r.json()["code"] == "invalid_token"
    statuses = {i["email"]: i["status"] for i in (await admin.get("/api/v1/tenant/invitations")).json()}
    assert statuses == {late: "expired", withdrawn: "revoked"}


async def test_inviting_an_existing_account_conflicts_and_users_cannot_invite(client):
    admin = await register(client)
    other = await register(client)
    r = await admin.post("/api/v1/tenant/invitations", json={"email": other.email})
    assert r.status_code == 409
    r = await admin.post("/api/v1/tenant/invitations", json={"email": email(), "role": "app_admin"})
    assert r.status_code == 400


async def test_a_verified_domain_claim_makes_sign_ups_join_as_user(client, mailbox):
    admin = await register(client, workspace="Claimers")
    domain = f"claim-{uuid.uuid4().hex[:8]}.example"
    r = await admin.post("/api/v1/tenant/domains", json={"domain": domain.upper()})
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["domain"] == domain and claim["verified_at"] is None
    assert claim["txt_name"] == f"_hirebuddha-challenge.{domain}"
    assert claim["txt_value"].startswith("hirebuddha-verification=")

    # Unverified, the claim changes nothing: a sign-up from the domain gets its own workspace.
    early = f"early-{uuid.uuid4().hex[:6]}@{domain}"
    r = await client.post(
        "/api/v1/auth/register", json={"email": early, "password": PASSWORD, "full_name": "E"}
    )
    assert r.status_code == 201 and r.json()["tenant"]["id"] != admin.tenant_id

    root = await app_admin(client)
    pending = (await root.get("/api/v1/admin/domain-claims")).json()
    assert claim["id"] in [c["id"] for c in pending]
    assert (await admin.post(f"/api/v1/admin/domain-claims/{claim['id']}/verify")).status_code == 403
    r = await root.post(f"/api/v1/admin/domain-claims/{claim['id']}/verify")
    assert r.status_code == 200 and r.json()["verified_at"] is not None

    # A second workspace cannot take a verified domain.
    rival = await register(client)
    rival_claim = (await rival.post("/api/v1/tenant/domains", json={"domain": domain})).json()
    assert (await root.post(f"/api/v1/admin/domain-claims/{rival_claim['id']}/verify")).status_code == 409

    joiner = f"joiner-{uuid.uuid4().hex[:6]}@{domain}"
    r = await client.post(
        "/api/v1/auth/register", json={"email": joiner, "password": PASSWORD, "full_name": "Jo"}
    )
    assert r.status_code == 202 and r.json()["status"] == "verification_sent"
    assert "access_token" not in r.json()
    refused = await client.post("/api/v1/auth/login", json={"email": joiner, "password": PASSWORD})
    assert refused.status_code == 401  # nothing exists until the address is proved

    _, token = await mailed_link(mailbox, joiner, "join your team")
    r = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200, r.text
    member = await login(client, joiner)
    me = (await member.get("/api/v1/me")).json()
    assert me["tenant"]["id"] == admin.tenant_id and me["role"] == "user"
    assert me["user"]["is_verified"] is True


async def test_public_mail_domains_cannot_be_claimed(client):
    admin = await register(client)
    r = await admin.post("/api/v1/tenant/domains", json={"domain": "gmail.com"})
    assert r.status_code == 400
    r = await admin.post("/api/v1/tenant/domains", json={"domain": "not a domain"})
    assert r.status_code == 400
