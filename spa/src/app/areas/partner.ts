// The partner admin's screens: one lazily loaded chunk (see app/router.tsx).
export { EarningsPage } from "@/features/partner/components/EarningsPage";
export { LiveUsagePage } from "@/features/partner/components/LiveUsagePage";
export { PartnerRatesPage } from "@/features/partner/components/RatesPage";
export { StatementsPage } from "@/features/billing/components/StatementsPage";
export { TenantsPage } from "@/features/partner/components/TenantsPage";
export { BrandingPage } from "@/features/branding/components/BrandingPage";
export { SupportPage } from "@/features/partner/components/SupportPage";
