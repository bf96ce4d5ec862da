"""Brands: a partner admin's own (`/partner/brand`, kept beside its service rather than in
web/partner so the brand is one domain), the signed-in caller's (`/me/brand`) and the one a
hostname shows before sign-in (`/brand`, public)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import Provide

from runtime.branding import brand_for_host
from web.auth.guards import requires_authenticated, requires_partner_admin
from web.auth.identity import Principal
from web.branding.schemas import BrandIn, BrandOut
from web.branding.service import BrandService, brand_for


async def provide_brand_service(me: Principal, ip: str | None) -> BrandService:
    return BrandService(me, ip)


class PartnerBrandController(Controller):
    """The partner's white-label brand."""

    path = "/partner/brand"
    guards = [requires_partner_admin]
    dependencies = {"brand_service": Provide(provide_brand_service)}
    tags = ["branding"]

    @get("/")
    async def get_partner_brand(self, brand_service: BrandService) -> BrandOut:
        """The partner's brand (the platform's when it has none)."""
        return msgspec.convert((await brand_service.get()).as_dict(), BrandOut)

    @put("/")
    async def put_partner_brand(self, brand_service: BrandService, data: BrandIn) -> BrandOut:
        """Set the brand; 422 `brand_contrast` when a colour pair fails WCAG AA."""
        return msgspec.convert((await brand_service.put(msgspec.to_builtins(data))).as_dict(), BrandOut)

    @post("/preview-mail", status_code=202)
    async def preview_partner_brand_mail(self, brand_service: BrandService) -> dict[str, str]:
        """Mail the partner admin a sample in the brand (how tenants' mail looks); sent
        after the answer."""
        return {"sent_to": await brand_service.preview_mail()}

    @delete("/", status_code=200)
    async def reset_partner_brand(self, brand_service: BrandService) -> BrandOut:
        """Back to the platform's brand."""
        return msgspec.convert((await brand_service.reset()).as_dict(), BrandOut)


@get("/me/brand", guards=[requires_authenticated], tags=["branding"])
async def my_brand(me: Principal, request: Request) -> BrandOut:
    """The brand the caller's console shows: its partner's, else the hostname's."""
    return msgspec.convert((await brand_for(me, request.headers.get("host"))).as_dict(), BrandOut)


@get("/brand", opt={"exclude_from_auth": True}, tags=["branding"])
async def host_brand(request: Request) -> BrandOut:
    """The brand of this hostname (a partner's console hostname), before sign-in."""
    return msgspec.convert((await brand_for_host(request.headers.get("host"))).as_dict(), BrandOut)
