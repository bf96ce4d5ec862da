"""Two real OpenID providers ("Google" and "Microsoft", node-oidc-provider from tools/oidc)
on loopback, and a web process whose public URL is their registered callback.

`oidc_world` (session): the issuers with their client credentials and private signing keys
(so a test can also sign ID tokens the way a provider would: expired, for another audience),
and the web process. `idp_sign_in` walks a provider's own login and consent pages over HTTP
the way a browser would and returns our callback's answer.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from conftest import ROOT, Process, free_port, wait_http

NODE_SCRIPT = ROOT / "tools" / "oidc" / "server.js"


@dataclass
class Issuer:
    """One running provider and the client it knows us as."""

    slug: str
    display_name: str
    kind: str
    issuer: str
    client_id: str
    client_secret: str
    key: RSAKey
    proc: subprocess.Popen = field(repr=False)

    def sign(self, claims: dict, key: RSAKey | None = None) -> str:
        """An ID token signed with this provider's key (or `key`)."""
        signer = key or self.key
        return jwt.encode({"alg": "RS256", "kid": signer.kid}, claims, signer)


@dataclass
class OidcWorld:
    base: str
    web: Process
    issuers: dict[str, Issuer]


def _start_issuer(slug: str, display_name: str, kind: str, web_base: str) -> Issuer:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(
        2048, parameters={"kid": f"{slug}-1", "use": "sig", "alg": "RS256"}, private=True
    )
    client_id, client_secret = f"hirebuddha-{slug}", secrets.token_urlsafe(24)
    config = {
        "issuer": issuer,
        "port": port,
        "cookie_key": secrets.token_urlsafe(16),
        "clients": [
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": [f"{web_base}/api/v1/auth/oidc/{slug}/callback"],
            }
        ],
        "jwks": {"keys": [key.as_dict(private=True)]},
    }
    log = open(Path(os.environ["HB_HOME"]) / f"oidc-{slug}.log", "w")  # noqa: SIM115 (lives with the process)
    proc = subprocess.Popen(
        ["node", str(NODE_SCRIPT)],
        env={**os.environ, "OIDC_CONFIG": json.dumps(config)},
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the {slug} OpenID provider did not start: {Path(log.name).read_text()}")
        time.sleep(0.1)
    return Issuer(slug, display_name, kind, issuer, client_id, client_secret, key, proc)


@pytest.fixture(scope="session")
async def oidc_world(database: str) -> AsyncIterator[OidcWorld]:
    assert (ROOT / "tools" / "oidc" / "node_modules" / "oidc-provider").exists(), (
        "tools/oidc is not installed: run `make install`"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    issuers = {
        "google": _start_issuer("google", "Google", "google", base),
        "microsoft": _start_issuer("microsoft", "Microsoft", "microsoft", base),
    }
    web = Process("web", "--port", str(port), env={"HB_PUBLIC_URL": base})
    try:
        await wait_http(f"{base}/health/live", web)
        yield OidcWorld(base, web, issuers)
    finally:
        web.stop()
        for issuer in issuers.values():
            issuer.proc.terminate()
            issuer.proc.wait(10)


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


async def idp_sign_in(world: OidcWorld, web: httpx.AsyncClient, slug: str, login: str) -> httpx.Response:
    """Start at our /start, sign in as `login` on the provider's pages, consent, and return the
    provider's redirect to our callback (not yet followed: the test decides what to send)."""
    r = await web.get(f"/api/v1/auth/oidc/{slug}/start")
    assert r.status_code == 302, r.text
    url = r.headers["location"]
    async with httpx.AsyncClient(timeout=30) as browser:
        for _ in range(12):
            if url.startswith(world.base):
                return httpx.Response(302, headers={"location": url})
            r = await browser.get(url)
            while r.status_code in (302, 303):
                url = urljoin(url, r.headers["location"])
                if url.startswith(world.base):
                    return httpx.Response(302, headers={"location": url})
                r = await browser.get(url)
            form = _FORM.search(r.text)
            assert form, f"no form on {url}: {r.text[:500]}"
            action, inner = urljoin(url, unescape(form.group(1))), form.group(2)
            fields = dict(_HIDDEN.findall(inner))
            if 'name="login"' in inner:
                fields.update(login=login, password="anything")
            r = await browser.post(action, data=fields)
            assert r.status_code in (302, 303), f"{action} answered {r.status_code}: {r.text[:500]}"
            url = urljoin(action, r.headers["location"])
    raise AssertionError("the provider never sent the browser back")
