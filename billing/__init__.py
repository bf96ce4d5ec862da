"""Billing: from the ledger to money (docs/billing.md).

Shared by the web process (tenant and admin routes, the Stripe webhook) and the ledger process
(the scheduler's billing jobs); depends on runtime only (docs/architecture.md "The dependency
rule").
"""
