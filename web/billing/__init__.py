"""Billing routes: the tenant admin's billing (`/tenant/billing/*`), the app admin's
(`/admin/billing/*`) and Stripe's webhook (`/billing/stripe/webhook`). The rules are in the
`billing` package, shared with the ledger process's jobs (docs/billing.md)."""
