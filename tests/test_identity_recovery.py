"""Email verification, password reset and the profile, over real HTTP with real mail."""

from __future__ import annotations

import uuid

import pytest

from helpers.api import PASSWORD, email, login, register
from helpers.identity import mailed_link
from runtime import db

pytestmark = pytest.mark.usefixtures("server")

NEW_PASSWORD = "a different horse staple"


async def test_register_mails_a_verification_link_that_works_once(client, mailbox):
    admin = await register(client)
    assert (await admin.get("/api/v1/me")).json()["user"]["is_verified"] is False
    path, token = await mailed_link(mailbox, admin.email, "Confirm your email")
    assert path == "/verify-email"

    r = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json() == {"email": admin.email, "verified": True}
    assert (await admin.get("/api/v1/me")).json()["user"]["is_verified"] is True

    again = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and again.json()["code"] == "invalid_token"
    forged = await client.post("/api/v1/auth/verify-email", json={"token": token[:-2] + "xx"})
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_token"


async def test_forgot_password_answers_alike_for_unknown_addresses(client, mailbox):
    admin = await register(client)
    known = await client.post("/api/v1/auth/password/forgot", json={"email": admin.email})
    ghost = email("ghost")
    unknown = await client.post("/api/v1/auth/password/forgot", json={"email": ghost})
    assert known.status_code == unknown.status_code == 202
    assert known.json()["status"] == unknown.json()["status"] == "sent_if_known"
    await mailbox.wait_for(to=admin.email, subject="Reset your password")
    assert mailbox.messages(to=ghost) == []


async def test_reset_ends_every_session_and_the_link_works_once(client, mailbox):
    admin = await register(client)
    other_device = await login(client, admin.email)
    await client.post("/api/v1/auth/password/forgot", json={"email": admin.email})
    path, token = await mailed_link(mailbox, admin.email, "Reset your password")
    assert path == "/reset-password"

    r = await client.post("/api/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 204, r.text

    for old in (admin, other_device):  # access tokens still unexpired, and refresh tokens: dead
        assert (await old.get("/api/v1/me")).status_code == 401
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": old.refresh_token})
        assert refreshed.status_code == 401
    old_password = await client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert old_password.status_code == 401
    fresh = await login(client, admin.email, NEW_PASSWORD)
    me = (await fresh.get("/api/v1/me")).json()
    assert me["user"]["is_verified"] is True  # the reset link proved the address

    reused = await client.post("/api/v1/auth/password/reset", json={"token": token, "password": PASSWORD})
    assert reused.status_code == 400 and reused.json()["code"] == "invalid_token"
    await login(client, admin.email, NEW_PASSWORD)  # the reused link changed nothing


async def test_a_reset_link_expires_after_15_minutes(client, mailbox):
    admin = await register(client)
    await client.post("/api/v1/auth/password/forgot", json={"email": admin.email})
    _, token = await mailed_link(mailbox, admin.email, "Reset your password")
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT expires_at - created_at AS ttl FROM account_tokens WHERE user_id = $1 AND purpose = $2",
            uuid.UUID(admin.user_id),
            "reset_password",
        )
        assert 14 * 60 < row["ttl"].total_seconds() <= 15 * 60
        # Fifteen minutes later:
        await db.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE purpose = $2 "
            "AND user_id = $1",
            uuid.UUID(admin.user_id),
            "reset_password",
        )
    r = await client.post("/api/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 400 and r.json()["code"] == "invalid_token"
    await login(client, admin.email)


async def test_a_new_reset_link_revokes_the_previous_one(client, mailbox):
    admin = await register(client)
    await client.post("/api/v1/auth/password/forgot", json={"email": admin.email})
    _, first = await mailed_link(mailbox, admin.email, "Reset your password")
    await client.post("/api/v1/auth/password/forgot", json={"email": admin.email})
    _, second = await mailed_link(mailbox, admin.email, "Reset your password", count=2)
    r = await client.post("/api/v1/auth/password/reset", json={"token": first, "password": NEW_PASSWORD})
    assert r.status_code == 400
    r = await client.post("/api/v1/auth/password/reset", json={"token": second, "password": NEW_PASSWORD})
    assert r.status_code == 204


async def test_profile_name_and_password_change_needs_the_old_one(client):
    admin = await register(client)
    r = await admin.patch("/api/v1/me/profile", json={"full_name": "Ada Lovelace"})
    assert r.status_code == 200 and r.json()["full_name"] == "Ada Lovelace"

    wrong = await admin.post(
        "/api/v1/me/password", json={"old_password": "not my password", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 401
    other_device = await login(client, admin.email)
    r = await admin.post("/api/v1/me/password", json={"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"})).status_code == 200
    assert (await other_device.get("/api/v1/me")).status_code == 401
    assert (await admin.get("/api/v1/me")).status_code == 401
    await login(client, admin.email, NEW_PASSWORD)


async def test_email_change_takes_effect_only_through_the_new_address(client, mailbox):
    admin = await register(client)
    target = email("moved")
    wrong = await admin.post("/api/v1/me/email", json={"email": target, "password": "not my password"})
    assert wrong.status_code == 401
    r = await admin.post("/api/v1/me/email", json={"email": target, "password": PASSWORD})
    assert r.status_code == 202, r.text
    await mailbox.wait_for(to=admin.email, subject="being changed")
    assert (await admin.get("/api/v1/me")).json()["user"]["email"] == admin.email  # not yet

    _, token = await mailed_link(mailbox, target, "Confirm your new email")
    r = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200 and r.json()["email"] == target
    me = (await admin.get("/api/v1/me")).json()["user"]
    assert me["email"] == target and me["is_verified"] is True
    await login(client, target)
