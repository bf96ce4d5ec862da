// The app admin's screens: one lazily loaded chunk (see app/router.tsx).
export { AdminAuditPage } from "@/features/audit/components/AuditPage";
export { AdminTenantsPage } from "@/features/admin/components/AdminTenantsPage";
export { DunningPage, MailboxPage, PlansPage, RevenuePage } from "@/features/billing/components/AdminBillingPages";
export { DeadLettersPage } from "@/features/admin/components/DeadLettersPage";
export { PartnersPage } from "@/features/admin/components/PartnersPage";
export { HealthPage, ModelsPage, ProvidersPage, SystemRatesPage } from "@/features/admin/components/SystemPages";
export { TiersPage } from "@/features/limits/components/TiersPage";
export { IdentityProvidersPage } from "@/features/auth/components/IdentityProvidersPage";
