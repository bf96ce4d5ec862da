"""`/auth/*` and `/me`."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body

from web.auth import service
from web.auth.guards import requires_authenticated
from web.auth.identity import Principal
from web.auth.ratelimit import enforce
from web.auth.schemas import (
    LoginIn,
    LoginOut,
    MeOut,
    PartnerOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    TenantOut,
    UserOut,
)
from web.deps import client_ip

COOKIE = "hb_refresh"
PUBLIC = {"exclude_from_auth": True}


def _refresh_cookie(request: Request, value: str, max_age: int) -> Cookie:
    settings = request.app.state.settings
    return Cookie(
        key=COOKIE,
        value=value,
        max_age=max_age,
        path="/api/v1/auth",
        httponly=True,
        samesite="strict",
        secure=settings.http.secure_cookies,
    )


async def _throttle(request: Request, action: str, email: str) -> None:
    auth = request.app.state.settings.auth
    limits = {
        f"{action}:ip:{(client_ip(request) or 'unknown')}": auth.login_ip_limit,
        f"{action}:email:{email.lower()}": auth.login_limit,
    }
    await enforce(limits, auth.login_window_s)


class AuthController(Controller):
    """Registration, login, token refresh and logout."""

    path = "/auth"
    tags = ["auth"]

    @post("/register", opt=PUBLIC, status_code=201)
    async def register(self, request: Request, data: RegisterIn) -> Response[RegisterOut]:
        """Create a workspace (tenant) whose first user is its tenant_admin, and log in."""
        await _throttle(request, "register", data.email)
        user, tenant = await service.register(
            data.email, data.password, data.full_name, data.workspace_name, client_ip(request)
        )
        access, expires_in, refresh = await service.start_session(user)
        body = RegisterOut(
            access_token=access,
            token_type="bearer",
            expires_in=expires_in,
            user=msgspec.convert(user, UserOut),
            tenant=msgspec.convert(tenant, TenantOut),
            refresh_token=refresh,
        )
        ttl = request.app.state.settings.auth.refresh_ttl_s
        return Response(body, status_code=201, cookies=[_refresh_cookie(request, refresh, ttl)])

    @post("/login", opt=PUBLIC, status_code=200)
    async def login(self, request: Request, data: LoginIn) -> Response[LoginOut]:
        """Exchange email and password for an access token and a refresh token."""
        await _throttle(request, "login", data.email)
        user = await service.authenticate(data.email, data.password, client_ip(request))
        access, expires_in, refresh = await service.start_session(user)
        body = LoginOut(access, "bearer", expires_in, msgspec.convert(user, UserOut), refresh)
        ttl = request.app.state.settings.auth.refresh_ttl_s
        return Response(body, cookies=[_refresh_cookie(request, refresh, ttl)])

    @post("/refresh", opt=PUBLIC, status_code=200)
    async def refresh(
        self, request: Request, data: Annotated[RefreshIn | None, Body()] = None
    ) -> Response[LoginOut]:
        """Rotate a refresh token (cookie or body); a reused one revokes its whole family."""
        token = (data.refresh_token if data else None) or request.cookies.get(COOKIE)
        if not token or len(token) > 200:
            raise NotAuthorizedException("No refresh token presented.")
        user, access, expires_in, new = await service.rotate(token)
        body = LoginOut(access, "bearer", expires_in, msgspec.convert(user, UserOut), new)
        ttl = request.app.state.settings.auth.refresh_ttl_s
        return Response(body, cookies=[_refresh_cookie(request, new, ttl)])

    @post("/logout", guards=[requires_authenticated], status_code=204)
    async def logout(
        self, request: Request, me: Principal, data: Annotated[RefreshIn | None, Body()] = None
    ) -> Response[None]:
        """Revoke the session's refresh tokens and clear the cookie."""
        token = (data.refresh_token if data else None) or request.cookies.get(COOKIE)
        await service.logout(me.id, me.tenant_id, token)
        return Response(None, status_code=204, cookies=[_refresh_cookie(request, "", 0)])


@get("/me", guards=[requires_authenticated], tags=["auth"])
async def me(me: Principal) -> MeOut:
    """Who am I: user, tenant, role and partner (for partner admins)."""
    user, tenant, partner = await service.me(me.id, me.tenant_id)
    return MeOut(
        user=msgspec.convert(user, UserOut),
        tenant=msgspec.convert(tenant, TenantOut),
        role=me.role,
        partner=_partner_out(partner),
    )


def _partner_out(row: dict | None) -> PartnerOut | None:
    if row is None:
        return None
    return PartnerOut(
        id=row["id"],
        name=row["name"],
        status=row["status"],
        commission_pct=str(row["commission_pct"]),
        commission_basis=row["commission_basis"],
    )
