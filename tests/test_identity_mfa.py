"""TOTP second factor: enrolment, the login challenge, replay and recovery-code reuse refused,
tenants that require it."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest

from helpers.api import PASSWORD, ApiUser, login, member, register

pytestmark = pytest.mark.usefixtures("server")


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The TOTP code of the step `steps_ahead` after now (the server accepts one step ahead)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def _enrol(user: ApiUser) -> tuple[str, list[str]]:
    r = await user.post("/api/v1/me/mfa/setup")
    assert r.status_code == 200, r.text
    secret, uri = r.json()["secret"], r.json()["provisioning_uri"]
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parse_qs(parts.query)["secret"] == [secret] and parse_qs(parts.query)["issuer"] == ["Hirebuddha"]
    wrong = await user.post(
        "/api/v1/me/mfa/confirm", json={"code": "000000" if _code(secret) != "000000" else "111111"}
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_mfa_code"
    r = await user.post("/api/v1/me/mfa/confirm", json={"code": _code(secret)})
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


async def _challenge(client, address: str) -> dict:
    r = await client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mfa_required"] is True and "access_token" not in body and "refresh_token" not in body
    assert "hb_refresh" not in r.headers.get("set-cookie", "")
    return body


async def test_login_with_totp_refuses_wrong_and_replayed_codes(client):
    admin = await register(client)
    secret, _ = await _enrol(admin)
    status = (await admin.get("/api/v1/me/mfa")).json()
    assert status == {"enabled": True, "recovery_codes_left": 10, "required_by_tenant": False}

    challenge = await _challenge(client, admin.email)
    assert challenge["kind"] == "verify"
    token = challenge["mfa_token"]
    as_bearer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401  # a challenge is no access token

    wrong = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": "123456"})
    if _code(secret) != "123456":
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_mfa_code"
    code = _code(secret, 1)  # a step after the one enrolment used
    r = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": code})
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})).status_code == 200

    replay = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": code})
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_mfa_code"
    forged = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token + "x", "code": code})
    assert forged.status_code == 401


async def test_a_recovery_code_works_once(client):
    admin = await register(client)
    _, codes = await _enrol(admin)
    token = (await _challenge(client, admin.email))["mfa_token"]
    r = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": codes[3].upper()})
    assert r.status_code == 200, r.text
    reuse = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": codes[3]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "invalid_mfa_code"
    assert (await admin.get("/api/v1/me/mfa")).json()["recovery_codes_left"] == 9


async def test_turning_mfa_off_needs_the_password(client):
    admin = await register(client)
    await _enrol(admin)
    assert (await admin.post("/api/v1/me/mfa/setup")).status_code == 409  # on already
    assert (
        await admin.post("/api/v1/me/mfa/disable", json={"password": "not my password"})
    ).status_code == 401
    assert (await admin.post("/api/v1/me/mfa/disable", json={"password": PASSWORD})).status_code == 204
    await login(client, admin.email)  # no challenge any more


async def test_a_tenant_that_requires_mfa_makes_members_enrol_at_login(client):
    admin = await register(client)
    user = await member(admin)
    r = await user.put("/api/v1/tenant/security", json={"require_mfa": True})
    assert r.status_code == 403
    r = await admin.put("/api/v1/tenant/security", json={"require_mfa": True})
    assert r.status_code == 200 and r.json()["require_mfa"] is True

    # A session from before the rule cannot be refreshed without a second factor.
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 401

    challenge = await _challenge(client, user.email)
    assert challenge["kind"] == "setup"
    token = challenge["mfa_token"]
    wrong_kind = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": "123456"})
    assert wrong_kind.status_code == 401
    r = await client.post("/api/v1/auth/mfa/setup", json={"mfa_token": token})
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = await client.post("/api/v1/auth/mfa/confirm", json={"mfa_token": token, "code": _code(secret)})
    assert r.status_code == 200, r.text
    assert len(r.json()["recovery_codes"]) == 10
    session = r.json()["session"]
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    assert (await client.get("/api/v1/me", headers=headers)).json()["user"]["mfa_enabled"] is True

    disable = await client.post("/api/v1/me/mfa/disable", headers=headers, json={"password": PASSWORD})
    assert disable.status_code == 403 and disable.json()["code"] == "mfa_required"
    assert (await _challenge(client, user.email))["kind"] == "verify"


async def test_codes_are_throttled_like_login():
    from conftest import start_web

    base, web = await start_web(env={"HB_LOGIN_LIMIT": "3"})
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            admin = await register(client)
            await _enrol(admin)  # the set-up codes are not throttled by this limit's key
            token = (await _challenge(client, admin.email))["mfa_token"]
            answers = [
                (
                    await client.post(
                        "/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": "99999999"}
                    )
                ).status_code
                for _ in range(4)
            ]
            assert answers == [401, 401, 401, 429]
            forgot = [
                (await client.post("/api/v1/auth/password/forgot", json={"email": admin.email})).status_code
                for _ in range(4)
            ]
            assert forgot == [202, 202, 202, 429]
    finally:
        web.stop()
