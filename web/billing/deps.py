"""Providers of the billing services."""

from __future__ import annotations

from web.auth.identity import Principal
from web.billing.service import AdminBillingService, PartnerStatementService, TenantBillingService


def provide_tenant_billing(me: Principal) -> TenantBillingService:
    return TenantBillingService(me)


def provide_admin_billing(me: Principal) -> AdminBillingService:
    return AdminBillingService(me)


def provide_partner_statements(me: Principal) -> PartnerStatementService:
    return PartnerStatementService(me)
