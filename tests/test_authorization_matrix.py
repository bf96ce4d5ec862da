"""Every route against every role: a new route without a guard, or with the wrong one, fails here."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.handlers import HTTPRouteHandler, WebsocketRouteHandler

from helpers.api import ApiUser, app_admin, member, partner, register

ALL = frozenset({"app_admin", "partner_admin", "tenant_admin", "support", "user"})
MEMBERS = frozenset({"tenant_admin", "support", "user"})
SUPPORT = frozenset({"tenant_admin", "support"})  # people who answer conversations

# (method, path) answered without a token.
PUBLIC = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/verify-email"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/auth/invitations/accept"),
    ("POST", "/api/v1/auth/mfa/verify"),  # the challenge token proves the password
    ("POST", "/api/v1/auth/mfa/setup"),
    ("POST", "/api/v1/auth/mfa/confirm"),
    ("POST", "/api/v1/auth/mfa/webauthn/login/begin"),  # the challenge token, as for mfa/verify
    ("POST", "/api/v1/auth/mfa/webauthn/login/complete"),
    ("POST", "/api/v1/auth/mfa/setup/webauthn/begin"),  # the set-up token, as for mfa/setup
    ("POST", "/api/v1/auth/mfa/setup/webauthn/complete"),
    ("GET", "/api/v1/auth/oidc/providers"),
    ("GET", "/api/v1/auth/oidc/{provider:str}/start"),
    ("GET", "/api/v1/auth/oidc/{provider:str}/callback"),
    ("POST", "/api/v1/auth/oidc/link"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/asyncapi"),
    ("GET", "/"),  # the console (SPA) and its client routes
    ("GET", "/{path:path}"),
    # Channels and white-label (docs/channels.md): the widget's script and config (checked
    # against the widget's origins), the channels' webhooks (verified by the provider's
    # secret or signature), the brand of a hostname before sign-in.
    ("GET", "/widget.js"),
    ("GET", "/api/v1/widgets/{public_key:str}/config"),
    ("POST", "/api/v1/channels/{channel_id:uuid}/telegram"),
    ("POST", "/api/v1/channels/{channel_id:uuid}/whatsapp"),
    ("GET", "/api/v1/channels/{channel_id:uuid}/whatsapp"),
    ("GET", "/api/v1/brand"),
    ("POST", "/api/v1/billing/stripe/webhook"),  # Stripe signs it (billing/webhooks.py)
}


def expected_roles(method: str, path: str) -> frozenset[str]:
    """Who may call a route, written down independently of the guards themselves."""
    rules: list[tuple[str, str, frozenset[str]]] = [
        (r"^/api/v1/admin/", ".*", frozenset({"app_admin"})),
        (r"^/api/v1/partner/", ".*", frozenset({"partner_admin"})),
        (r"^/api/v1/tenant", ".*", frozenset({"tenant_admin"})),
        (r"^/api/v1/agents", "GET", MEMBERS),
        (r"^/api/v1/models$", "GET", MEMBERS),
        (r"^/v1/", ".*", frozenset({"service"})),  # agents as an OpenAI-compatible API: API keys
        (r"^/api/v1/agents", "POST|PUT|PATCH|DELETE", frozenset({"tenant_admin"})),
        (r"^/api/v1/sessions/[^/]+/(takeover|handback)$", "POST", SUPPORT),
        (r"^/api/v1/inbox", ".*", SUPPORT),
        (r"^/api/v1/documents", "GET", MEMBERS),
        (r"^/api/v1/documents", "POST|DELETE", frozenset({"tenant_admin"})),
        (r"^/api/v1/knowledge/search$", "GET", MEMBERS),
        (r"^/api/v1/sessions", ".*", MEMBERS),
        (r"^/api/v1/workflows/\{workflow_id:uuid\}/runs$", ".*", MEMBERS),
        (r"^/api/v1/workflows/tool-hosts$", ".*", frozenset({"tenant_admin"})),
        (r"^/api/v1/workflows", "GET", MEMBERS),
        (r"^/api/v1/workflows", "POST|PATCH|DELETE", frozenset({"tenant_admin"})),
        (r"^/api/v1/workflow-runs", ".*", MEMBERS),
        (r"^/api/v1/executions", ".*", MEMBERS | {"service"}),
        (r"^/api/v1/(me|auth/logout)$", ".*", ALL),
        (r"^/api/v1/me/", ".*", ALL),  # one's own profile, password, second factor
        (r"^/api/v1/auth/mfa/webauthn/(register|credentials)", ".*", ALL),  # one's own passkeys
        (r"^/api/v1/me/brand$", "GET", ALL),
        (r"^/api/v1/(widgets|channels)", ".*", frozenset({"tenant_admin"})),
        (r"^/api/v1/usage$", "GET", frozenset({"tenant_admin"})),
        (r"^/api/v1/ledger/entries$", "GET", frozenset({"app_admin", "partner_admin", "tenant_admin"})),
    ]
    for pattern, methods, roles in rules:
        if re.search(pattern, path) and re.fullmatch(methods, method):
            return roles
    raise AssertionError(f"no authorization rule for {method} {path}: add one to this test")


def http_routes():
    from web.app import create_app

    app = create_app()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", None) or [route.route_handler]:
            if isinstance(handler, WebsocketRouteHandler):
                yield "WS", route.path, handler
            elif isinstance(handler, HTTPRouteHandler):
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    yield method, route.path, handler


def test_every_route_is_public_by_list_or_guarded_by_role():
    seen = 0
    for method, path, handler in http_routes():
        if path.startswith("/schema"):
            continue
        seen += 1
        opt = handler.opt
        if method == "WS":
            assert opt.get("first_frame_auth"), f"WebSocket {path} must authenticate its first frame"
            continue
        if (method, path) in PUBLIC:
            assert opt.get("exclude_from_auth"), f"{method} {path} is listed public but requires auth"
            continue
        assert not opt.get("exclude_from_auth"), f"{method} {path} skips authentication"
        guards = handler.resolve_guards()
        roles = [getattr(g, "roles", None) for g in guards]
        assert guards and all(roles), f"{method} {path} has no role guard"
        allowed = frozenset.intersection(*roles)
        assert allowed == expected_roles(method, path), f"{method} {path} admits {sorted(allowed)}"
    assert seen > 25


@pytest.fixture(scope="module")
async def people(server):
    import httpx

    client = httpx.AsyncClient(base_url=server, timeout=30)
    admin = await app_admin(client)
    tenant_admin = await register(client)
    key = (await tenant_admin.post("/api/v1/tenant/api-keys", json={"name": "matrix"})).json()["key"]
    yield {
        "app_admin": admin,
        "partner_admin": await partner(admin),
        "tenant_admin": tenant_admin,
        "user": await member(tenant_admin),
        "support": await member(tenant_admin, "support"),
        "service": ApiUser(client, key, "", tenant_admin.tenant_id, "service", ""),
    }
    await client.aclose()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "openai" if ":str" in m.group(0) else str(uuid.uuid4()), path)


async def test_each_role_is_admitted_or_refused_as_the_rules_say(people, localstripe):  # billing calls Stripe
    client = people["user"].client
    checked = 0
    for method, path, _ in http_routes():
        if method == "WS" or path.startswith("/schema") or (method, path) in PUBLIC:
            continue
        url = _concrete(path)
        anonymous = await client.request(method, url, json={})
        assert anonymous.status_code == 401, f"anonymous {method} {path}: {anonymous.status_code}"
        allowed = expected_roles(method, path)
        for role, actor in people.items():
            r = await client.request(method, url, json={}, headers=actor.headers)
            if role in allowed:
                assert r.status_code not in (401, 403), f"{role} refused on {method} {path}: {r.text}"
                assert r.status_code < 500, f"{role} got {r.status_code} on {method} {path}: {r.text}"
            else:
                assert r.status_code == 403, f"{role} got {r.status_code} on {method} {path}"
            checked += 1
    assert checked > 100
