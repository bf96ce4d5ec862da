"""Passkeys (WebAuthn) as a second factor: registration, the login step, and every refusal
(another user's credential, a replayed assertion, a cloned authenticator's counter, a wrong
origin, a ceremony begun for another challenge) — with a software authenticator built from
fido2's data classes and an ES256 key, so the server's real verification runs."""

from __future__ import annotations

import hashlib
import os
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

from helpers.api import PASSWORD, ApiUser, login, member, register
from runtime import db

pytestmark = pytest.mark.usefixtures("server")

ORIGIN = "http://localhost:5173"  # the server's RP id is `localhost` for a loopback public URL
FLAGS = AuthenticatorData.FLAG


class SoftKey:
    """One passkey: a P-256 key, a credential id and its signature counter."""

    def __init__(self, rp_id: str = "localhost", origin: str = ORIGIN) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.rp_id = rp_id
        self.origin = origin

    def _rp_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def create(self, options: dict) -> dict:
        """What `navigator.credentials.create(...).toJSON()` answers for these options."""
        challenge = websafe_decode(options["challenge"])
        client = CollectedClientData.create("webauthn.create", challenge, self.origin)
        cred = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        auth = AuthenticatorData.create(self._rp_hash(), FLAGS.UP | FLAGS.AT, self.counter, cred)
        att = AttestationObject.create("none", auth, {})
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": websafe_encode(client), "attestationObject": websafe_encode(att)},
        }

    def get(self, options: dict, counter_step: int = 1) -> dict:
        """What `navigator.credentials.get(...).toJSON()` answers (the counter moves on)."""
        self.counter += counter_step
        challenge = websafe_decode(options["challenge"])
        client = CollectedClientData.create("webauthn.get", challenge, self.origin)
        auth = AuthenticatorData.create(self._rp_hash(), FLAGS.UP, self.counter)
        signature = self.key.sign(bytes(auth) + client.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": websafe_encode(client),
                "authenticatorData": websafe_encode(auth),
                "signature": websafe_encode(signature),
            },
        }


async def _add_passkey(user: ApiUser, name: str = "Laptop") -> SoftKey:
    r = await user.post("/api/v1/auth/mfa/webauthn/register/begin")
    assert r.status_code == 200, r.text
    options = r.json()
    assert options["rp"]["id"] == "localhost" and options["attestation"] == "none"
    assert websafe_decode(options["user"]["id"]).hex() == user.user_id.replace("-", "")
    key = SoftKey()
    r = await user.post(
        "/api/v1/auth/mfa/webauthn/register/complete", json={"credential": key.create(options), "name": name}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name and r.json()["last_used_at"] is None
    return key


async def _challenge(client: httpx.AsyncClient, address: str) -> dict:
    r = await client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mfa_required"] is True and "access_token" not in body
    return body


async def _options(client: httpx.AsyncClient, token: str) -> dict:
    r = await client.post("/api/v1/auth/mfa/webauthn/login/begin", json={"mfa_token": token})
    assert r.status_code == 200, r.text
    return r.json()


async def _complete(client: httpx.AsyncClient, token: str, assertion: dict) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/mfa/webauthn/login/complete", json={"mfa_token": token, "credential": assertion}
    )


def _refused(r: httpx.Response) -> bool:
    return r.status_code == 401 and r.json()["code"] == "passkey_refused"


async def test_register_list_and_sign_in_with_a_passkey(client):
    admin = await register(client)
    assert (await admin.get("/api/v1/auth/mfa/webauthn/credentials")).json() == []
    key = await _add_passkey(admin)
    listed = (await admin.get("/api/v1/auth/mfa/webauthn/credentials")).json()
    assert [p["name"] for p in listed] == ["Laptop"]
    assert "public_key" not in listed[0] and "credential_data" not in listed[0]

    challenge = await _challenge(client, admin.email)  # a passkey alone makes MFA on
    assert challenge["kind"] == "verify" and challenge["factors"] == ["passkey"]
    token = challenge["mfa_token"]
    options = await _options(client, token)
    assert options["rpId"] == "localhost"
    assert [c["id"] for c in options["allowCredentials"]] == [websafe_encode(key.credential_id)]
    assertion = key.get(options)
    r = await _complete(client, token, assertion)
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200 and me.json()["user"]["id"] == admin.user_id
    assert "hb_refresh" in r.headers.get("set-cookie", "")
    used = (await admin.get("/api/v1/auth/mfa/webauthn/credentials")).json()[0]
    assert used["last_used_at"] is not None

    # The same assertion again: its ceremony is used up.
    assert _refused(await _complete(client, token, assertion))
    # A TOTP code is no way in for an account without TOTP.
    r = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": "123456"})
    assert r.status_code == 401

    trail = await admin.get("/api/v1/tenant/audit", params={"action": "mfa.", "limit": 50})
    assert trail.status_code == 200, trail.text
    actions = {row["action"] for row in trail.json()["items"]}
    assert {"mfa.passkey_added", "mfa.passkey_used", "mfa.passkey_refused"} <= actions


async def test_refusals_other_users_key_clone_origin_and_foreign_challenge(client):
    admin = await register(client)
    key = await _add_passkey(admin)
    other = await member(admin)
    other_key = await _add_passkey(other, "Phone")

    token = (await _challenge(client, admin.email))["mfa_token"]
    # Another user's (registered) credential, signing this user's challenge.
    assert _refused(await _complete(client, token, other_key.get(await _options(client, token))))
    # An unknown key with a made-up id.
    assert _refused(await _complete(client, token, SoftKey().get(await _options(client, token))))
    # The right key on a page of another origin.
    key.origin = "https://evil.example"
    assert _refused(await _complete(client, token, key.get(await _options(client, token))))
    key.origin = ORIGIN
    # A ceremony begun under one challenge token cannot be completed with another.
    first = (await _challenge(client, admin.email))["mfa_token"]
    second = (await _challenge(client, admin.email))["mfa_token"]
    options = await _options(client, first)
    assert _refused(await _complete(client, second, key.get(options)))
    # Completing with no ceremony begun at all.
    assert _refused(await _complete(client, second, key.get(options)))

    # A good sign-in moves the counter on; a clone with an older counter is refused.
    r = await _complete(client, token, key.get(await _options(client, token)))
    assert r.status_code == 200, r.text
    token = (await _challenge(client, admin.email))["mfa_token"]
    clone_options = await _options(client, token)
    key.counter -= 2
    assert _refused(await _complete(client, token, key.get(clone_options)))
    trail = await admin.get("/api/v1/tenant/audit", params={"action": "mfa.passkey_clone_suspected"})
    assert len(trail.json()["items"]) == 1
    # ... and the same counter again (a clone used in step) likewise.
    token = (await _challenge(client, admin.email))["mfa_token"]
    key.counter += 1
    assert _refused(await _complete(client, token, key.get(await _options(client, token), counter_step=0)))
    token = (await _challenge(client, admin.email))["mfa_token"]
    assert (
        await _complete(client, token, key.get(await _options(client, token), counter_step=5))
    ).status_code == 200

    # Garbage for a credential is a coded 4xx, never a 500.
    token = (await _challenge(client, admin.email))["mfa_token"]
    await _options(client, token)
    r = await _complete(client, token, {"id": "x", "response": {}})
    assert _refused(r)
    # A forged challenge token.
    r = await client.post("/api/v1/auth/mfa/webauthn/login/begin", json={"mfa_token": token + "x"})
    assert r.status_code == 401


async def test_registration_ceremony_is_single_use_and_bound_to_the_user(client):
    admin = await register(client)
    other = await member(admin)
    r = await admin.post("/api/v1/auth/mfa/webauthn/register/begin")
    options = r.json()
    key = SoftKey()
    credential = key.create(options)
    # Another signed-in user cannot complete this user's ceremony.
    r = await other.post(
        "/api/v1/auth/mfa/webauthn/register/complete", json={"credential": credential, "name": "x"}
    )
    assert _refused(r)
    # A wrong origin is refused, and that uses the ceremony up.
    key.origin = "http://127.0.0.1:5173"
    r = await admin.post(
        "/api/v1/auth/mfa/webauthn/register/complete", json={"credential": key.create(options), "name": "x"}
    )
    assert _refused(r)
    r = await admin.post(
        "/api/v1/auth/mfa/webauthn/register/complete", json={"credential": credential, "name": "x"}
    )
    assert _refused(r)
    assert (await admin.get("/api/v1/auth/mfa/webauthn/credentials")).json() == []
    # Unauthenticated: no registration at all.
    assert (await client.post("/api/v1/auth/mfa/webauthn/register/begin")).status_code == 401
    # A bad name is a coded 400.
    r = await admin.post("/api/v1/auth/mfa/webauthn/register/complete", json={"credential": {}, "name": ""})
    assert r.status_code == 400


async def test_delete_own_only_and_the_tenant_rule(client):
    admin = await register(client)
    other = await member(admin)
    await _add_passkey(other)
    key = await _add_passkey(admin)
    mine = (await admin.get("/api/v1/auth/mfa/webauthn/credentials")).json()[0]["id"]
    theirs = (await other.get("/api/v1/auth/mfa/webauthn/credentials")).json()[0]["id"]
    assert (await admin.delete(f"/api/v1/auth/mfa/webauthn/credentials/{theirs}")).status_code == 404

    # A workspace that requires MFA: a passkey alone satisfies it (verify, not setup).
    r = await admin.put("/api/v1/tenant/security", json={"require_mfa": True})
    assert r.status_code == 200, r.text
    challenge = await _challenge(client, admin.email)
    assert challenge["kind"] == "verify" and challenge["factors"] == ["passkey"]
    token = challenge["mfa_token"]
    r = await _complete(client, token, key.get(await _options(client, token)))
    assert r.status_code == 200, r.text
    session = r.json()
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    # ... so the last passkey cannot go while it is the only second factor.
    r = await admin.delete(f"/api/v1/auth/mfa/webauthn/credentials/{mine}")
    assert r.status_code == 403 and r.json()["code"] == "mfa_required"

    r = await admin.put("/api/v1/tenant/security", json={"require_mfa": False})
    assert r.status_code == 200
    assert (await admin.delete(f"/api/v1/auth/mfa/webauthn/credentials/{mine}")).status_code == 204
    assert (await admin.get("/api/v1/auth/mfa/webauthn/credentials")).json() == []
    # No second factor left: the password alone signs in again.
    again = await login(client, admin.email)
    assert again.user_id == admin.user_id


async def test_a_ceremony_lives_five_minutes(client):
    admin = await register(client)
    key = await _add_passkey(admin)
    token = (await _challenge(client, admin.email))["mfa_token"]
    options = await _options(client, token)
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT expires_at - created_at AS ttl, mfa_token_hash FROM webauthn_challenges "
            "WHERE user_id = $1 AND purpose = 'login'",
            uuid.UUID(admin.user_id),
        )
        assert 4 * 60 < row["ttl"].total_seconds() <= 5 * 60
        assert row["mfa_token_hash"] == hashlib.sha256(token.encode()).hexdigest()
        # Five minutes later:
        await db.execute(
            "UPDATE webauthn_challenges SET expires_at = now() - interval '1 second' WHERE user_id = $1",
            uuid.UUID(admin.user_id),
        )
    assert _refused(await _complete(client, token, key.get(options)))
    r = await _complete(client, token, key.get(await _options(client, token)))  # a fresh one works
    assert r.status_code == 200, r.text


async def test_a_required_second_factor_can_be_a_passkey_set_up_at_sign_in(client):
    admin = await register(client)
    user = await member(admin)
    assert (await admin.put("/api/v1/tenant/security", json={"require_mfa": True})).status_code == 200
    challenge = await _challenge(client, user.email)
    assert challenge["kind"] == "setup"
    token = challenge["mfa_token"]
    # A verify-kind route does not take a set-up token, nor the set-up route a forged one.
    assert (
        await client.post("/api/v1/auth/mfa/webauthn/login/begin", json={"mfa_token": token})
    ).status_code == 401
    forged = await client.post("/api/v1/auth/mfa/setup/webauthn/begin", json={"mfa_token": token + "x"})
    assert forged.status_code == 401

    r = await client.post("/api/v1/auth/mfa/setup/webauthn/begin", json={"mfa_token": token})
    assert r.status_code == 200, r.text
    key = SoftKey()
    credential = key.create(r.json())
    bad = await client.post(
        "/api/v1/auth/mfa/setup/webauthn/complete", json={"mfa_token": token, "credential": {}, "name": ""}
    )
    assert bad.status_code == 400  # a coded validation error, the ceremony still open
    r = await client.post(
        "/api/v1/auth/mfa/setup/webauthn/complete",
        json={"mfa_token": token, "credential": credential, "name": "Work laptop"},
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=headers)).json()["user"]["id"] == user.user_id

    # From now on the passkey is the account's second factor; the old set-up token adds nothing.
    again = await _challenge(client, user.email)
    assert again["kind"] == "verify" and again["factors"] == ["passkey"]
    stale = await client.post("/api/v1/auth/mfa/setup/webauthn/begin", json={"mfa_token": token})
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    signed_in = await _complete(
        client, again["mfa_token"], key.get(await _options(client, again["mfa_token"]))
    )
    assert signed_in.status_code == 200, signed_in.text
    trail = await admin.get("/api/v1/tenant/audit", params={"action": "mfa.passkey_added"})
    assert [row["actor_user_id"] for row in trail.json()["items"]] == [user.user_id]
