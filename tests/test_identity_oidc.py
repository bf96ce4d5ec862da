"""OIDC sign-in against real OpenID providers (node-oidc-provider) on loopback: the code
flow with PKCE, state and nonce; every forgery refused; accounts created, joined or linked."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from helpers.api import PASSWORD, app_admin, email, register
from helpers.oidc import OidcWorld, idp_sign_in
from runtime import db
from runtime.errors import CodedError
from web.auth import oidc
from web.auth.tokens import sha256_hex


@pytest.fixture(scope="module")
async def providers(oidc_world: OidcWorld) -> OidcWorld:
    """Both providers configured by an app admin through the API."""
    async with httpx.AsyncClient(base_url=oidc_world.base, timeout=30) as client:
        root = await app_admin(client)
        existing = {p["slug"] for p in (await root.get("/api/v1/admin/identity-providers")).json()}
        for issuer in oidc_world.issuers.values():
            if issuer.slug in existing:
                continue
            r = await root.post(
                "/api/v1/admin/identity-providers",
                json={
                    "slug": issuer.slug,
                    "display_name": issuer.display_name,
                    "kind": issuer.kind,
                    "issuer": issuer.issuer,
                    "client_id": issuer.client_id,
                    "client_secret": issuer.client_secret,
                },
            )
            assert r.status_code == 201, r.text
            body = r.json()
            assert "client_secret" not in body and issuer.client_secret not in r.text
            assert body["redirect_uri"] == f"{oidc_world.base}/api/v1/auth/oidc/{issuer.slug}/callback"
    return oidc_world


@pytest.fixture
async def web(providers: OidcWorld):
    async with httpx.AsyncClient(base_url=providers.base, timeout=30) as client:
        yield client


async def _session(web: httpx.AsyncClient, callback: httpx.Response) -> dict:
    """Follow the provider's redirect to our callback; return the session it opened."""
    r = await web.get(callback.headers["location"])
    assert r.status_code == 302, r.text
    assert r.headers["location"].endswith("/oidc/done")
    refreshed = await web.post("/api/v1/auth/refresh")  # the refresh cookie the callback set
    assert refreshed.status_code == 200, refreshed.text
    return refreshed.json()


async def test_the_login_page_lists_the_configured_providers(web):
    listed = (await web.get("/api/v1/auth/oidc/providers")).json()
    assert {"slug": "google", "display_name": "Google", "kind": "google"} in listed
    assert {"slug": "microsoft", "display_name": "Microsoft", "kind": "microsoft"} in listed


async def test_start_sends_pkce_state_and_nonce(web, providers):
    r = await web.get("/api/v1/auth/oidc/google/start")
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert f"{target.scheme}://{target.netloc}" == providers.issuers["google"].issuer
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["response_type"] == "code" and "openid" in query["scope"].split()
    assert len(query["state"]) >= 43 and len(query["nonce"]) >= 43
    assert r.cookies.get(oidc.STATE_COOKIE) == query["state"]
    assert (await web.get("/api/v1/auth/oidc/nobody/start")).status_code == 404


async def test_first_sign_in_creates_a_workspace_then_signs_in_again(web, providers):
    person = email("oidc-new")
    session = await _session(web, await idp_sign_in(providers, web, "google", person))
    user = session["user"]
    assert user["email"] == person and user["role"] == "tenant_admin" and user["is_verified"] is True
    me = await web.get("/api/v1/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert me.status_code == 200 and me.json()["user"]["id"] == user["id"]

    web.cookies.clear()
    again = await _session(web, await idp_sign_in(providers, web, "google", person))
    assert again["user"]["id"] == user["id"]  # linked by the provider's subject: same account


async def test_a_claimed_domain_joins_its_tenant_as_user(web, providers):
    admin = await register(web)
    domain = f"sso-{uuid.uuid4().hex[:8]}.example"
    claim = (await admin.post("/api/v1/tenant/domains", json={"domain": domain})).json()
    root = await app_admin(web)
    assert (await root.post(f"/api/v1/admin/domain-claims/{claim['id']}/verify")).status_code == 200
    session = await _session(web, await idp_sign_in(providers, web, "microsoft", f"emp@{domain}"))
    assert session["user"]["tenant_id"] == admin.tenant_id and session["user"]["role"] == "user"


async def test_tampered_or_foreign_state_is_refused(web, providers):
    callback = await idp_sign_in(providers, web, "google", email("oidc-state"))
    url = urlsplit(callback.headers["location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    state = query["state"]
    other = "B" if state.endswith("A") else "A"  # a state already ending in A would not be tampered
    tampered = await web.get(url.path, params={**query, "state": state[:-1] + other})
    assert tampered.status_code == 400 and tampered.json()["code"] == "oidc_state_invalid"
    async with httpx.AsyncClient(base_url=providers.base) as other_browser:  # no state cookie
        r = await other_browser.get(url.path, params=query)
        assert r.status_code == 400 and r.json()["code"] == "oidc_state_invalid"
    other_path = url.path.replace("google", "microsoft")
    mixed_up = await web.get(other_path, params=query)  # the answer names Google as its issuer
    assert mixed_up.status_code == 400 and mixed_up.json()["code"] == "oidc_failed"
    without_iss = {k: v for k, v in query.items() if k != "iss"}
    wrong_provider = await web.get(other_path, params=without_iss)  # the state is Google's
    assert wrong_provider.status_code == 400 and wrong_provider.json()["code"] == "oidc_state_invalid"
    assert (await web.get(callback.headers["location"])).status_code == 302  # the genuine one works


async def test_a_replayed_code_is_refused(web, providers):
    person = email("oidc-replay")
    first = await idp_sign_in(providers, web, "google", person)
    await _session(web, first)
    replayed = await web.get(first.headers["location"])  # same state: used already
    assert replayed.status_code == 400 and replayed.json()["code"] == "oidc_state_invalid"

    # The old code under a fresh, genuine state: the provider refuses it.
    second = await idp_sign_in(providers, web, "google", person)
    fresh = {k: v[0] for k, v in parse_qs(urlsplit(second.headers["location"]).query).items()}
    old_code = parse_qs(urlsplit(first.headers["location"]).query)["code"][0]
    r = await web.get("/api/v1/auth/oidc/google/callback", params={**fresh, "code": old_code})
    assert r.status_code == 400 and r.json()["code"] == "oidc_failed"


async def test_a_wrong_nonce_is_refused(web, providers):
    callback = await idp_sign_in(providers, web, "google", email("oidc-nonce"))
    state = parse_qs(urlsplit(callback.headers["location"]).query)["state"][0]
    async with db.scope():  # as if the ID token had been issued for another sign-in
        await db.execute(
            "UPDATE oidc_logins SET nonce = 'another-sign-in' WHERE state_hash = $1", sha256_hex(state)
        )
    r = await web.get(callback.headers["location"])
    assert r.status_code == 400 and r.json()["code"] == "oidc_failed"
    assert "nonce" in r.json()["detail"]


async def test_id_token_claims_and_signature_are_validated(providers):
    google = providers.issuers["google"]
    meta = await oidc.metadata(google.issuer)
    keyset = await oidc.keys(meta["jwks_uri"])
    now = int(time.time())
    good = {
        "iss": google.issuer,
        "aud": google.client_id,
        "sub": "s1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
    }
    expected = {"issuer": google.issuer, "client_id": google.client_id, "nonce": "n"}
    assert oidc.validate_id_token(google.sign(good), keyset, **expected)["sub"] == "s1"

    forged_key = RSAKey.generate_key(2048, parameters={"kid": google.key.kid}, private=True)
    bad = {
        "expired": google.sign({**good, "iat": now - 7200, "exp": now - 3600}),
        "foreign audience": google.sign({**good, "aud": "someone-else"}),
        "several audiences without azp": google.sign({**good, "aud": [google.client_id, "other"]}),
        "other issuer": google.sign({**good, "iss": providers.issuers["microsoft"].issuer}),
        "wrong nonce": google.sign({**good, "nonce": "m"}),
        "no nonce": google.sign({k: v for k, v in good.items() if k != "nonce"}),
        "forged signature": google.sign(good, key=forged_key),
        "signed by the other provider": providers.issuers["microsoft"].sign(good),
    }
    for why, token in bad.items():
        with pytest.raises(CodedError) as refused:
            oidc.validate_id_token(token, keyset, **expected)
        assert refused.value.code == "oidc_failed", why


async def test_a_local_account_is_linked_only_with_its_password(web, providers):
    local = await register(web)
    callback = await idp_sign_in(providers, web, "microsoft", local.email)
    r = await web.get(callback.headers["location"])
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert target.path == "/link-account"
    token = parse_qs(target.fragment)["token"][0]
    assert "hb_refresh" not in r.headers.get("set-cookie", "")  # no session before the password

    wrong = await web.post("/api/v1/auth/oidc/link", json={"token": token, "password": "not the password"})
    assert wrong.status_code == 401
    linked = await web.post("/api/v1/auth/oidc/link", json={"token": token, "password": PASSWORD})
    assert linked.status_code == 200, linked.text
    assert linked.json()["user"]["id"] == local.user_id
    reused = await web.post("/api/v1/auth/oidc/link", json={"token": token, "password": PASSWORD})
    assert reused.status_code == 400 and reused.json()["code"] == "invalid_token"

    web.cookies.clear()
    session = await _session(web, await idp_sign_in(providers, web, "microsoft", local.email))
    assert session["user"]["id"] == local.user_id  # linked now: straight in


async def test_an_unverified_provider_email_never_reaches_an_account(web, providers):
    address = f"unverified-{uuid.uuid4().hex[:8]}@example.org"
    r = await web.post(
        "/api/v1/auth/register", json={"email": address, "password": PASSWORD, "full_name": "U"}
    )
    assert r.status_code == 201
    callback = await idp_sign_in(providers, web, "google", address)
    r = await web.get(callback.headers["location"])
    assert r.status_code == 403 and r.json()["code"] == "oidc_email_unverified"
    assert "hb_refresh" not in r.headers.get("set-cookie", "")


async def test_provider_secrets_are_encrypted_and_issuers_guarded(web, providers):
    async with db.scope():
        row = await db.fetchrow("SELECT client_secret FROM identity_providers WHERE slug = 'google'")
    assert row["client_secret"] != providers.issuers["google"].client_secret
    root = await app_admin(web)
    r = await root.post(
        "/api/v1/admin/identity-providers",
        json={
            "slug": "metadata",
            "display_name": "Evil",
            "issuer": "http://169.254.169.254/latest",
            "client_id": "x",
            "client_secret": "y",
        },
    )
    assert r.status_code == 422
    admin = await register(web)
    assert (await admin.get("/api/v1/admin/identity-providers")).status_code == 403
