"""`/tenant/escalation-rules`: when a session asks for a person (docs/human-in-the-loop.md)."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import Provide

from web.auth.guards import requires_tenant_admin
from web.handover.deps import provide_handover_service
from web.handover.schemas import EscalationRules
from web.handover.service import HandoverService


class EscalationRulesController(Controller):
    """Read and replace the tenant's escalation rules."""

    path = "/tenant/escalation-rules"
    guards = [requires_tenant_admin]
    dependencies = {"handover_service": Provide(provide_handover_service)}
    tags = ["human in the loop"]

    @get("/")
    async def escalation_rules(self, handover_service: HandoverService) -> EscalationRules:
        """Keywords, failed answers in a row, and the sentiment bound that escalate a session."""
        return await handover_service.rules()

    @put("/")
    async def set_escalation_rules(
        self, handover_service: HandoverService, data: EscalationRules, ip: str | None
    ) -> EscalationRules:
        """Replace the rules (keywords are matched case-insensitively in the user's message)."""
        return await handover_service.save_rules(data, ip)
