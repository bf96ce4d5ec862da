// The banner every page of a suspended workspace shows (docs/billing.md "Dunning"): its users
// still sign in and read, agents do not answer, and its admin pays in Billing to restore it.
import { Link } from "react-router";
import { Alert } from "@/components/ui/Alert";
import type { Me } from "@/lib/auth/me";
import { useBillingOverview } from "@/features/billing/api/billing";

export function SuspendedBanner({ me }: { me: Me }) {
  const suspended = me.tenant.status === "suspended";
  const admin = me.role === "tenant_admin";
  const overview = useBillingOverview(suspended && admin);
  if (!suspended) return null;
  const forPayment = !admin || overview.data?.suspended_for_payment !== false;
  return (
    <div className="suspended-banner" data-testid="suspended-banner">
      <Alert tone="warning" title={forPayment ? "Your workspace is suspended for an unpaid invoice" : "Your workspace is suspended"}>
        {admin && forPayment ? (
          <>
            Agents do not answer until it is paid; your data is kept. Pay the open invoice or add a card in{" "}
            <Link to="/console/billing">Billing</Link> and the workspace is restored at once.
          </>
        ) : admin ? (
          <>Agents do not answer until it is restored; your data is kept. Your partner or the platform suspended it: ask them.</>
        ) : (
          <>Agents do not answer until a workspace admin pays it in Billing; your data is kept.</>
        )}
      </Alert>
    </div>
  );
}
