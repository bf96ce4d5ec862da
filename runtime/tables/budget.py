"""Budget reservations: money held at admission until the ledger settles the call.

Created by raw SQL in the `budgets` migration (partial indexes, CHECKs); this class is for
grants, RLS bookkeeping (TENANT_TABLES) and occasional Piccolo reads. The SQL is in
`ledger.budget_repository`.
"""

from decimal import Decimal

from piccolo.columns import UUID, ForeignKey, Numeric, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.base import created_at, pk, updated_at
from runtime.tables.identity import Tenant

MONEY = (18, 6)


class BudgetReservation(Table, tablename="budget_reservations", db=APP_DB):
    """An upper bound held for one execution; it holds `amount - spent` while positive."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    user_id = UUID(null=True, default=None)
    execution_id = UUID(unique=True)
    agent_id = UUID(null=True, default=None)
    model = Varchar(length=100)
    amount = Numeric(digits=MONEY)
    """The hold's ceiling: the admission bound, then the call's real price once released."""
    spent = Numeric(digits=MONEY, default=Decimal("0"))
    """tenant_cost of the execution's entries, added by the ledger when it records them."""
    released_at = Timestamptz(null=True, default=None)
    created_at = created_at()
    updated_at = updated_at()
