"""Identity: registration, login, refresh rotation and reuse detection, token validation."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from helpers.api import PASSWORD, email, login, member, register

pytestmark = pytest.mark.usefixtures("server")


async def test_register_creates_tenant_named_by_workspace_or_domain(client):
    named = await register(client, workspace="Acme Hiring")
    assert named.extra["tenant"]["name"] == "Acme Hiring"
    assert named.role == "tenant_admin"

    address = f"ceo-{uuid.uuid4().hex[:6]}@globex.example"
    r = await client.post(
        "/api/v1/auth/register", json={"email": address, "password": PASSWORD, "full_name": "G"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["tenant"]["name"] == "globex.example"
    assert r.json()["user"]["role"] == "tenant_admin"

    address = f"solo-{uuid.uuid4().hex[:6]}@gmail.com"
    r = await client.post(
        "/api/v1/auth/register", json={"email": address, "password": PASSWORD, "full_name": "S"}
    )
    assert r.json()["tenant"]["name"] == "My Workspace"


async def test_register_twice_with_one_email_conflicts(client):
    admin = await register(client)
    r = await client.post(
        "/api/v1/auth/register", json={"email": admin.email, "password": PASSWORD, "full_name": "Again"}
    )
    assert r.status_code == 409
    assert r.json()["status"] == 409


async def test_login_returns_token_cookie_and_me(client):
    admin = await register(client)
    r = await client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    cookie = r.headers["set-cookie"]
    assert "hb_refresh=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"sub", "tenant_id", "role", "partner_id", "exp", "iat", "jti", "iss", "aud"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["email"] == admin.email
    assert me.json()["tenant"]["id"] == admin.tenant_id
    assert me.json()["role"] == "tenant_admin"


async def test_unknown_email_and_wrong_password_answer_alike(client):
    admin = await register(client)
    wrong = await client.post("/api/v1/auth/login", json={"email": admin.email, "password": "wrong-password"})
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": email("ghost"), "password": "wrong-password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    admin = await register(client)
    first = admin.refresh_token
    r1 = await client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert r1.status_code == 200, r1.text
    second = r1.json()["refresh_token"]
    assert second != first

    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401
    # The thief's reuse killed the legitimate successor too: the whole family is revoked.
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401


async def test_refresh_from_cookie(client):
    admin = await register(client)
    client.cookies.set("hb_refresh", admin.refresh_token, path="/api/v1/auth")
    r = await client.post("/api/v1/auth/refresh")
    client.cookies.clear()
    assert r.status_code == 200
    assert r.json()["user"]["id"] == admin.user_id


async def test_logout_revokes_refresh_token(client):
    admin = await register(client)
    r = await admin.post("/api/v1/auth/logout", json={"refresh_token": admin.refresh_token})
    assert r.status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
    assert again.status_code == 401


async def test_garbage_refresh_token_is_401(client):
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/refresh")
    assert r.status_code == 401


def _forge(claims: dict, key: str, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


async def test_forged_expired_and_foreign_tokens_are_refused(client):
    import os

    admin = await register(client)
    good = jwt.decode(admin.token, options={"verify_signature": False})
    secret = os.environ["HB_SECRET_KEY"]
    now = int(time.time())
    cases = {
        "expired": _forge({**good, "iat": now - 2000, "exp": now - 1000}, secret),
        "wrong key": _forge(good, "x" * 48),
        "wrong audience": _forge({**good, "aud": "someone-else"}, secret),
        "wrong issuer": _forge({**good, "iss": "evil"}, secret),
        "tampered": admin.token[:-4] + ("AAAA" if not admin.token.endswith("AAAA") else "BBBB"),
        "alg none": jwt.encode(good, None, algorithm="none"),
        "hs512": _forge(good, secret, "HS512"),
        "role escalation": _forge({**good, "role": "app_admin"}, "y" * 48),
        "garbage": "abc.def.ghi",
    }
    for name, token in cases.items():
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, f"{name} token was accepted: {r.status_code}"
    r = await client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401


async def test_role_comes_from_database_not_token(client):
    """A demoted admin loses admin rights at once although their token still says tenant_admin."""
    admin = await register(client)
    second = await member(admin, role="tenant_admin")
    r = await admin.patch(f"/api/v1/tenant/users/{second.user_id}", json={"role": "user"})
    assert r.status_code == 200
    r = await second.get("/api/v1/tenant/users")
    assert r.status_code == 403


async def test_login_rehashes_when_parameters_change(client, database):
    from argon2 import PasswordHasher

    from runtime import db
    from runtime.tables import User

    admin = await register(client)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with db.scope(admin.tenant_id):
        await User.update({User.hashed_password: weak}).where(User.id == uuid.UUID(admin.user_id))
    await login(client, admin.email)
    async with db.scope(admin.tenant_id):
        stored = await User.select(User.hashed_password).where(User.id == uuid.UUID(admin.user_id)).first()
    assert stored["hashed_password"] != weak
    assert "$argon2id$" in stored["hashed_password"] and "m=19456,t=2,p=1" in stored["hashed_password"]


async def test_login_is_rate_limited_per_email_with_retry_after(database):
    """A second web process with a low limit: the 4th attempt in the window gets 429."""
    import httpx

    from conftest import start_web

    base, proc = await start_web({"HB_LOGIN_LIMIT": "3", "HB_LOGIN_WINDOW_S": "60"})
    try:
        async with httpx.AsyncClient(base_url=base) as c:
            target = email("victim")
            codes = []
            for _ in range(4):
                r = await c.post("/api/v1/auth/login", json={"email": target, "password": "wrong-password"})
                codes.append(r.status_code)
            assert codes == [401, 401, 401, 429]
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["status"] == 429
    finally:
        proc.stop()


async def test_api_key_authenticates_as_service_until_revoked(client):
    admin = await register(client)
    created = (await admin.post("/api/v1/tenant/api-keys", json={"name": "erp"})).json()
    key = {"Authorization": f"Bearer {created['key']}"}
    r = await client.get("/api/v1/me", headers=key)
    assert r.status_code == 403  # authenticated, but people's routes are not for services
    wrong = created["key"][:-3] + ("aaa" if not created["key"].endswith("aaa") else "bbb")
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {wrong}"})).status_code == 401
    listed = (await admin.get("/api/v1/tenant/api-keys")).json()
    assert listed[0]["last_used_at"] is not None
    await admin.delete(f"/api/v1/tenant/api-keys/{created['id']}")
    assert (await client.get("/api/v1/me", headers=key)).status_code == 401
