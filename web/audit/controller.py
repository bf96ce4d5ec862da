"""`GET /admin/audit` (app admin: everything) and `GET /tenant/audit` (tenant admin: own tenant).

Filters: `actor` (user id), `action` (exact, or a prefix ending in `.` such as `tenant.`),
`from`/`to` (ISO times, `to` exclusive), `cursor` (from the previous page), `limit` (<= 200);
app admins may also narrow to one `tenant_id`. Newest first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from web.audit.schemas import AuditFilter, AuditPage
from web.audit.service import AuditService, provide_audit_service
from web.auth.guards import requires_app_admin, requires_tenant_admin
from web.auth.identity import Principal

From = Annotated[dt.datetime | None, Parameter(query="from", description="Oldest time included (ISO 8601).")]
To = Annotated[dt.datetime | None, Parameter(query="to", description="Newest time, excluded (ISO 8601).")]
Limit = Annotated[int, Parameter(ge=1, le=200)]
Action = Annotated[str | None, Parameter(max_length=64, description="An action, or a prefix ending in '.'")]
Cursor = Annotated[str | None, Parameter(max_length=200)]


class PlatformAuditController(Controller):
    """The whole trail, for the app admin."""

    path = "/admin/audit"
    guards = [requires_app_admin]
    tags = ["admin"]
    dependencies = {"audit": Provide(provide_audit_service, sync_to_thread=False)}

    @get("/")
    async def list_platform_audit(
        self,
        audit: AuditService,
        actor: uuid.UUID | None = None,
        action: Action = None,
        since: From = None,
        until: To = None,
        tenant_id: uuid.UUID | None = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> AuditPage:
        """Every recorded admin action of every tenant and of the platform, newest first."""
        query = AuditFilter(actor, action, since, until, tenant_id, cursor, limit)
        return await audit.platform_page(query)


class TenantAuditController(Controller):
    """The caller's tenant's trail, for its tenant admins."""

    path = "/tenant/audit"
    guards = [requires_tenant_admin]
    tags = ["tenant"]
    dependencies = {"audit": Provide(provide_audit_service, sync_to_thread=False)}

    @get("/")
    async def list_tenant_audit(
        self,
        me: Principal,
        audit: AuditService,
        actor: uuid.UUID | None = None,
        action: Action = None,
        since: From = None,
        until: To = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> AuditPage:
        """Recorded admin actions on this workspace (by its admins and by the platform), newest first."""
        query = AuditFilter(actor, action, since, until, None, cursor, limit)
        return await audit.tenant_page(me.tenant_id, query)
