// Routes only: each screen lives in its feature; guards say who may open it. Each area (chat,
// workspace admin, partner, app admin) is loaded on first visit, one chunk each: the main
// bundle holds only React, the router, the query client, sign-in and the shell.
import { lazy, type ComponentType, type ReactNode } from "react";
import { createBrowserRouter, Navigate } from "react-router";
import { GuestOnly, Home, RequireAuth, RequireRole } from "@/app/guards";
import { Shell } from "@/app/Shell";
import { LoginPage } from "@/features/auth/components/LoginPage";
import { RegisterPage } from "@/features/auth/components/RegisterPage";
import {
  AcceptInvitationPage,
  ForgotPasswordPage,
  LinkAccountPage,
  OidcDonePage,
  ResetPasswordPage,
  VerifyEmailPage,
} from "@/features/auth/components/LinkPages";
import type { Role } from "@/lib/auth/me";

type Area = Record<string, ComponentType>;
/** A lazily loaded screen `name` of an area module. */
const from = <A extends Area>(load: () => Promise<A>) => (name: keyof A & string) =>
  lazy(async () => ({ default: (await load())[name] as ComponentType }));

const admin = from(() => import("@/app/areas/admin"));
const partner = from(() => import("@/app/areas/partner"));
const workspace = from(() => import("@/app/areas/workspace"));
const ChatPage = from(() => import("@/app/areas/chat"))("ChatPage");
const InboxPage = from(() => import("@/app/areas/support"))("InboxPage");
const ProfilePage = from(() => import("@/app/areas/account"))("ProfilePage");

const Admin = {
  Partners: admin("PartnersPage"), Tenants: admin("AdminTenantsPage"), Rates: admin("SystemRatesPage"), Models: admin("ModelsPage"),
  Providers: admin("ProvidersPage"), IdentityProviders: admin("IdentityProvidersPage"), DeadLetters: admin("DeadLettersPage"), Health: admin("HealthPage"), Audit: admin("AdminAuditPage"),
  Tiers: admin("TiersPage"),
  Plans: admin("PlansPage"), Revenue: admin("RevenuePage"), Dunning: admin("DunningPage"), Mailbox: admin("MailboxPage"),
};
const Partner = {
  Tenants: partner("TenantsPage"), Rates: partner("PartnerRatesPage"), Earnings: partner("EarningsPage"), Live: partner("LiveUsagePage"),
  Branding: partner("BrandingPage"), Statements: partner("StatementsPage"), Support: partner("SupportPage"),
};
const Workspace = {
  Agents: workspace("AgentsPage"), AgentEditor: workspace("AgentEditor"), Users: workspace("UsersPage"), ApiKeys: workspace("ApiKeysPage"),
  Usage: workspace("UsagePage"), Executions: workspace("ExecutionsPage"), Budget: workspace("BudgetPage"), Billing: workspace("BillingPage"), Webhooks: workspace("WebhooksPage"), Audit: workspace("TenantAuditPage"),
  Limits: workspace("LimitsPage"),
  Access: workspace("AccessPage"),
  Knowledge: workspace("KnowledgePage"),
  Widgets: workspace("WidgetsPage"), Channels: workspace("ChannelsPage"),
  Workflows: workspace("WorkflowsPage"), WorkflowEditor: workspace("WorkflowEditor"), WorkflowRun: workspace("WorkflowRunPage"),
};

const as = (roles: Role[], el: ReactNode) => <RequireRole roles={roles}>{el}</RequireRole>;
const ADMIN: Role[] = ["tenant_admin"];
const MEMBERS: Role[] = ["tenant_admin", "support", "user"];
const SUPPORT: Role[] = ["tenant_admin", "support"];
const PARTNER: Role[] = ["partner_admin"];
const ROOT: Role[] = ["app_admin"];

export const router = createBrowserRouter([
  { path: "/login", element: <GuestOnly><LoginPage /></GuestOnly> },
  { path: "/register", element: <GuestOnly><RegisterPage /></GuestOnly> },
  // The pages our mails and the OIDC callback open (signed in or not).
  { path: "/forgot-password", element: <GuestOnly><ForgotPasswordPage /></GuestOnly> },
  { path: "/reset-password", element: <ResetPasswordPage /> },
  { path: "/verify-email", element: <VerifyEmailPage /> },
  { path: "/accept-invitation", element: <AcceptInvitationPage /> },
  { path: "/link-account", element: <LinkAccountPage /> },
  { path: "/oidc/done", element: <OidcDonePage /> },
  {
    path: "/",
    element: <RequireAuth><Shell /></RequireAuth>,
    children: [
      { index: true, element: <Home /> },
      { path: "profile", element: <ProfilePage /> },
      { path: "chat", element: as(MEMBERS, <ChatPage />) },
      { path: "chat/:sessionId", element: as(MEMBERS, <ChatPage />) },
      { path: "inbox", element: as(SUPPORT, <InboxPage />) },
      { path: "inbox/:sessionId", element: as(SUPPORT, <InboxPage />) },
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
      { path: "console/billing", element: as(ADMIN, <Workspace.Billing />) },
      { path: "console/webhooks", element: as(ADMIN, <Workspace.Webhooks />) },
      { path: "console/audit", element: as(ADMIN, <Workspace.Audit />) },
      { path: "console/plan", element: as(ADMIN, <Workspace.Limits />) },
      { path: "console/access", element: as(ADMIN, <Workspace.Access />) },
      { path: "console/knowledge", element: as(MEMBERS, <Workspace.Knowledge />) },
      { path: "console/widgets", element: as(ADMIN, <Workspace.Widgets />) },
      { path: "console/channels", element: as(ADMIN, <Workspace.Channels />) },
      { path: "partner", element: <Navigate to="/partner/tenants" replace /> },
      { path: "partner/tenants", element: as(PARTNER, <Partner.Tenants />) },
      { path: "partner/rates", element: as(PARTNER, <Partner.Rates />) },
      { path: "partner/earnings", element: as(PARTNER, <Partner.Earnings />) },
      { path: "partner/live", element: as(PARTNER, <Partner.Live />) },
      { path: "partner/branding", element: as(PARTNER, <Partner.Branding />) },
      { path: "partner/statements", element: as(PARTNER, <Partner.Statements />) },
      { path: "partner/support", element: as(PARTNER, <Partner.Support />) },
      { path: "admin", element: <Navigate to="/admin/partners" replace /> },
      { path: "admin/partners", element: as(ROOT, <Admin.Partners />) },
      { path: "admin/tenants", element: as(ROOT, <Admin.Tenants />) },
      { path: "admin/rates", element: as(ROOT, <Admin.Rates />) },
      { path: "admin/models", element: as(ROOT, <Admin.Models />) },
      { path: "admin/providers", element: as(ROOT, <Admin.Providers />) },
      { path: "admin/identity-providers", element: as(ROOT, <Admin.IdentityProviders />) },
      { path: "admin/dead-letters", element: as(ROOT, <Admin.DeadLetters />) },
      { path: "admin/health", element: as(ROOT, <Admin.Health />) },
      { path: "admin/audit", element: as(ROOT, <Admin.Audit />) },
      { path: "admin/tiers", element: as(ROOT, <Admin.Tiers />) },
      { path: "admin/plans", element: as(ROOT, <Admin.Plans />) },
      { path: "admin/revenue", element: as(ROOT, <Admin.Revenue />) },
      { path: "admin/dunning", element: as(ROOT, <Admin.Dunning />) },
      { path: "admin/mailbox", element: as(ROOT, <Admin.Mailbox />) },
      { path: "*", element: <p className="muted">This page does not exist. <a href="/">Go home</a></p> },
    ],
  },
]);
