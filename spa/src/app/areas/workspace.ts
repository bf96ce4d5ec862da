// The tenant admin's screens: one lazily loaded chunk (see app/router.tsx).
export { AgentEditor } from "@/features/agents/components/AgentEditor";
export { AgentsPage } from "@/features/agents/components/AgentsPage";
export { KnowledgePage } from "@/features/knowledge/components/KnowledgePage";
export { TenantAuditPage } from "@/features/audit/components/AuditPage";
export { ApiKeysPage } from "@/features/tenant/components/ApiKeysPage";
export { BillingPage } from "@/features/billing/components/BillingPage";
export { BudgetPage } from "@/features/tenant/components/BudgetPage";
export { ExecutionsPage } from "@/features/tenant/components/ExecutionsPage";
export { UsagePage } from "@/features/tenant/components/UsagePage";
export { UsersPage } from "@/features/tenant/components/UsersPage";
export { WebhooksPage } from "@/features/tenant/components/WebhooksPage";
export { LimitsPage } from "@/features/limits/components/LimitsPage";
export { AccessPage } from "@/features/auth/components/AccessPage";
export { ChannelsPage } from "@/features/channels/components/ChannelsPage";
export { WidgetsPage } from "@/features/channels/components/WidgetsPage";
