// The tenant admin's screens: one lazily loaded chunk (see app/router.tsx).
export { AgentEditor } from "@/features/agents/components/AgentEditor";
export { AgentsPage } from "@/features/agents/components/AgentsPage";
export { TenantAuditPage } from "@/features/audit/components/AuditPage";
export { ApiKeysPage } from "@/features/tenant/components/ApiKeysPage";
export { BudgetPage } from "@/features/tenant/components/BudgetPage";
export { ExecutionsPage } from "@/features/tenant/components/ExecutionsPage";
export { UsagePage } from "@/features/tenant/components/UsagePage";
export { UsersPage } from "@/features/tenant/components/UsersPage";
export { WebhooksPage } from "@/features/tenant/components/WebhooksPage";
export { WorkflowEditor } from "@/features/workflows/components/WorkflowEditor";
export { WorkflowRunPage } from "@/features/workflows/components/WorkflowRunPage";
export { WorkflowsPage } from "@/features/workflows/components/WorkflowsPage";
