// Routes only: each screen lives in its feature; guards say who may open it.
import { createBrowserRouter, Navigate } from "react-router";
import { GuestOnly, Home, RequireAuth, RequireRole } from "@/app/guards";
import { Shell } from "@/app/Shell";
import { AdminTenantsPage, DeadLettersPage, HealthPage, ModelsPage, ProvidersPage, SystemRatesPage } from "@/features/admin/components/SystemPages";
import { PartnersPage } from "@/features/admin/components/PartnersPage";
import { AgentEditor } from "@/features/agents/components/AgentEditor";
import { AgentsPage } from "@/features/agents/components/AgentsPage";
import { LoginPage } from "@/features/auth/components/LoginPage";
import { RegisterPage } from "@/features/auth/components/RegisterPage";
import { ChatPage } from "@/features/chat/components/ChatPage";
import { EarningsPage } from "@/features/partner/components/EarningsPage";
import { LiveUsagePage } from "@/features/partner/components/LiveUsagePage";
import { PartnerRatesPage } from "@/features/partner/components/RatesPage";
import { TenantsPage } from "@/features/partner/components/TenantsPage";
import { ApiKeysPage } from "@/features/tenant/components/ApiKeysPage";
import { ExecutionsPage } from "@/features/tenant/components/ExecutionsPage";
import { UsagePage } from "@/features/tenant/components/UsagePage";
import { UsersPage } from "@/features/tenant/components/UsersPage";
import type { Role } from "@/lib/auth/me";
import type { ReactNode } from "react";

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
      { path: "console/agents", element: as(ADMIN, <AgentsPage />) },
      { path: "console/agents/:agentId", element: as(ADMIN, <AgentEditor />) },
      { path: "console/users", element: as(ADMIN, <UsersPage />) },
      { path: "console/api-keys", element: as(ADMIN, <ApiKeysPage />) },
      { path: "console/usage", element: as(ADMIN, <UsagePage />) },
      { path: "console/executions", element: as(ADMIN, <ExecutionsPage />) },
      { path: "partner", element: <Navigate to="/partner/tenants" replace /> },
      { path: "partner/tenants", element: as(PARTNER, <TenantsPage />) },
      { path: "partner/rates", element: as(PARTNER, <PartnerRatesPage />) },
      { path: "partner/earnings", element: as(PARTNER, <EarningsPage />) },
      { path: "partner/live", element: as(PARTNER, <LiveUsagePage />) },
      { path: "admin", element: <Navigate to="/admin/partners" replace /> },
      { path: "admin/partners", element: as(ROOT, <PartnersPage />) },
      { path: "admin/tenants", element: as(ROOT, <AdminTenantsPage />) },
      { path: "admin/rates", element: as(ROOT, <SystemRatesPage />) },
      { path: "admin/models", element: as(ROOT, <ModelsPage />) },
      { path: "admin/providers", element: as(ROOT, <ProvidersPage />) },
      { path: "admin/dead-letters", element: as(ROOT, <DeadLettersPage />) },
      { path: "admin/health", element: as(ROOT, <HealthPage />) },
      { path: "*", element: <p className="muted">This page does not exist. <a href="/">Go home</a></p> },
    ],
  },
]);
