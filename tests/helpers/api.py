"""Building blocks for API tests: people of every role, created through the real API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

PASSWORD = "correct horse battery staple"


@dataclass
class ApiUser:
    """Someone logged in: their token, ids and a client that sends the token."""

    client: httpx.AsyncClient
    token: str
    user_id: str
    tenant_id: str
    role: str
    email: str
    refresh_token: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, url: str, **kw) -> httpx.Response:
        return await self.client.get(url, headers=self.headers, **kw)

    async def post(self, url: str, **kw) -> httpx.Response:
        return await self.client.post(url, headers=self.headers, **kw)

    async def patch(self, url: str, **kw) -> httpx.Response:
        return await self.client.patch(url, headers=self.headers, **kw)

    async def put(self, url: str, **kw) -> httpx.Response:
        return await self.client.put(url, headers=self.headers, **kw)

    async def delete(self, url: str, **kw) -> httpx.Response:
        return await self.client.delete(url, headers=self.headers, **kw)


def email(tag: str = "user") -> str:
    """A unique address."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.org"


async def login(client: httpx.AsyncClient, address: str, password: str = PASSWORD) -> ApiUser:
    """Log in and return the actor; fails loudly when login does not answer 200."""
    r = await client.post("/api/v1/auth/login", json={"email": address, "password": password})
    assert r.status_code == 200, f"login of {address} failed: {r.status_code} {r.text}"
    body = r.json()
    user = body["user"]
    return ApiUser(
        client,
        body["access_token"],
        user["id"],
        user["tenant_id"],
        user["role"],
        address,
        body["refresh_token"],
    )


async def register(client: httpx.AsyncClient, workspace: str | None = None) -> ApiUser:
    """A new tenant and its tenant admin."""
    address = email("admin")
    payload = {"email": address, "password": PASSWORD, "full_name": "Ada Admin"}
    if workspace:
        payload["workspace_name"] = workspace
    r = await client.post("/api/v1/auth/register", json=payload)
    assert r.status_code == 201, f"register failed: {r.status_code} {r.text}"
    body = r.json()
    return ApiUser(
        client,
        body["access_token"],
        body["user"]["id"],
        body["tenant"]["id"],
        "tenant_admin",
        address,
        body["refresh_token"],
        extra={"tenant": body["tenant"]},
    )


async def app_admin(client: httpx.AsyncClient) -> ApiUser:
    """A fresh app admin, created the way `hirebuddha create-admin` does, then logged in."""
    from web.seed import create_admin

    address = email("root")
    await create_admin(address, PASSWORD)
    return await login(client, address)


async def member(admin: ApiUser, role: str = "user") -> ApiUser:
    """A new member of the admin's tenant."""
    address = email(role)
    r = await admin.post(
        "/api/v1/tenant/users",
        json={"email": address, "full_name": "Uma User", "password": PASSWORD, "role": role},
    )
    assert r.status_code == 201, r.text
    return await login(admin.client, address)


async def partner(admin: ApiUser, commission_pct: str = "20", basis: str = "margin") -> ApiUser:
    """A new partner with its partner admin, created by an app admin, then logged in."""
    address = email("partner")
    r = await admin.post(
        "/api/v1/admin/partners",
        json={
            "name": f"Partner {uuid.uuid4().hex[:6]}",
            "admin_email": address,
            "admin_password": PASSWORD,
            "commission_pct": commission_pct,
            "commission_basis": basis,
        },
    )
    assert r.status_code == 201, r.text
    actor = await login(admin.client, address)
    actor.extra["partner"] = r.json()
    return actor


async def agent(admin: ApiUser, **overrides) -> dict:
    """A new agent of the admin's tenant."""
    body = {
        "name": "Recruiter",
        "role": "You screen candidates.",
        "llm_config": {"model": "demo-1", "provider": "demo"},
    }
    body.update(overrides)
    r = await admin.post("/api/v1/agents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def resold_tenant(partner_admin: ApiUser, name: str = "Resold Co") -> tuple[dict, str]:
    """A tenant created by a partner admin; returns its body and its admin's email."""
    address = email("resold")
    r = await partner_admin.post(
        "/api/v1/partner/tenants",
        json={"name": name, "admin_email": address, "admin_password": PASSWORD, "admin_full_name": "R"},
    )
    assert r.status_code == 201, r.text
    return r.json(), address


async def system_rate(root: ApiUser, model: str, resource_type: str = "input_tokens") -> httpx.Response:
    """An app admin's new system rate of `model` (cost 0.1, billing 0.2 per 1k tokens)."""
    return await root.post(
        "/api/v1/admin/rates",
        json={
            "model": model,
            "resource_type": resource_type,
            "unit": "1k_tokens",
            "cost_rate": "0.1",
            "billing_rate": "0.2",
        },
    )
