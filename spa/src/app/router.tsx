// Routes only: each screen lives in its feature; guards say who may open it. Each area (chat,
// workspace admin, partner, app admin) is loaded on first visit, one chunk each: the main
// bundle holds only React, the router, the query client, sign-in and the shell.
import { lazy, type ComponentType, type ReactNode } from "react";
import { createBrowserRouter, Navigate } from "react-router";
import { GuestOnly, Home, RequireAuth, RequireRole } from "@/app/guards";
import { Shell } from "@/app/Shell";
import { LoginPage } from "@/features/auth/components/LoginPage";
import { RegisterPage } from "@/features/auth/components/RegisterPage";
import type { Role } from "@/lib/auth/me";

type Area = Record<string, ComponentType>;
/** A lazily loaded screen `name` of an area module. */
const from = <A extends Area>(load: () => Promise<A>) => (name: keyof A & string) =>
  lazy(async () => ({ default: (await load())[name] as ComponentType }));

const admin = from(() => import("@/app/areas/admin"));
const partner = from(() => import("@/app/areas/partner"));
const workspace = from(() => import("@/app/areas/workspace"));
const ChatPage = from(() => import("@/app/areas/chat"))("ChatPage");

const Admin = {
  Partners: admin("PartnersPage"), Tenants: admin("AdminTenantsPage"), Rates: admin("SystemRatesPage"), Models: admin("ModelsPage"),
  Providers: admin("ProvidersPage"), DeadLetters: admin("DeadLettersPage"), Health: admin("HealthPage"), Audit: admin("AdminAuditPage"),
};
const Partner = {
  Tenants: partner("TenantsPage"), Rates: partner("PartnerRatesPage"), Earnings: partner("EarningsPage"), Live: partner("LiveUsagePage"),
};
const Workspace = {
  Agents: workspace("AgentsPage"), AgentEditor: workspace("AgentEditor"), Users: workspace("UsersPage"), ApiKeys: workspace("ApiKeysPage"),
  Usage: workspace("UsagePage"), Executions: workspace("ExecutionsPage"), Budget: workspace("BudgetPage"), Webhooks: workspace("WebhooksPage"), Audit: workspace("TenantAuditPage"),
  Workflows: workspace("WorkflowsPage"), WorkflowEditor: workspace("WorkflowEditor"), WorkflowRun: workspace("WorkflowRunPage"),
};

const as = (roles: Role[], el: ReactNode) => <RequireRole roles={roles}>{el}</RequireRole>;
const ADMIN: Role[] = ["tenant_admin"];
const PARTNER: Role[] = ["partner_admin"];
const ROOT: Role[] = ["app_admin"];

export const router = createBrowserRouter([
  { path: "/login", element: <GuestOnly><LoginPage /></GuestOnly> },
  { path: "/register", element: <GuestOnly><RegisterPage /></GuestOnly> },
  {
    path: "/",
    element: <RequireAuth><Shell /></RequireAuth>,
    children: [
      { index: true, element: <Home /> },
      { path: "chat", element: as(["tenant_admin", "user"], <ChatPage />) },
      { path: "chat/:sessionId", element: as(["tenant_admin", "user"], <ChatPage />) },
      { path: "console", element: <Navigate to="/console/agents" replace /> },
      { path: "console/agents", element: as(ADMIN, <Workspace.Agents />) },
      { path: "console/agents/:agentId", element: as(ADMIN, <Workspace.AgentEditor />) },
      { path: "console/workflows", element: as(ADMIN, <Workspace.Workflows />) },
      { path: "console/workflows/:workflowId", element: as(ADMIN, <Workspace.WorkflowEditor />) },
      { path: "console/workflows/:workflowId/runs/:runId", element: as(ADMIN, <Workspace.WorkflowRun />) },
      { path: "console/users", element: as(ADMIN, <Workspace.Users />) },
      { path: "console/api-keys", element: as(ADMIN, <Workspace.ApiKeys />) },
      { path: "console/usage", element: as(ADMIN, <Workspace.Usage />) },
      { path: "console/executions", element: as(ADMIN, <Workspace.Executions />) },
      { path: "console/budget", element: as(ADMIN, <Workspace.Budget />) },
      { path: "console/webhooks", element: as(ADMIN, <Workspace.Webhooks />) },
      { path: "console/audit", element: as(ADMIN, <Workspace.Audit />) },
      { path: "partner", element: <Navigate to="/partner/tenants" replace /> },
      { path: "partner/tenants", element: as(PARTNER, <Partner.Tenants />) },
      { path: "partner/rates", element: as(PARTNER, <Partner.Rates />) },
      { path: "partner/earnings", element: as(PARTNER, <Partner.Earnings />) },
      { path: "partner/live", element: as(PARTNER, <Partner.Live />) },
      { path: "admin", element: <Navigate to="/admin/partners" replace /> },
      { path: "admin/partners", element: as(ROOT, <Admin.Partners />) },
      { path: "admin/tenants", element: as(ROOT, <Admin.Tenants />) },
      { path: "admin/rates", element: as(ROOT, <Admin.Rates />) },
      { path: "admin/models", element: as(ROOT, <Admin.Models />) },
      { path: "admin/providers", element: as(ROOT, <Admin.Providers />) },
      { path: "admin/dead-letters", element: as(ROOT, <Admin.DeadLetters />) },
      { path: "admin/health", element: as(ROOT, <Admin.Health />) },
      { path: "admin/audit", element: as(ROOT, <Admin.Audit />) },
      { path: "*", element: <p className="muted">This page does not exist. <a href="/">Go home</a></p> },
    ],
  },
]);
