// Billing (docs/billing.md): the tenant admin's account, cards, invoices, credit and plan; the
// partner's statements; the app admin's plans, revenue, dunning and development mailbox.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, authFetch, describeStatus, unwrap, type Schemas } from "@/lib/api/client";

export type Invoice = Schemas["InvoiceOut"];
export type PaymentMethod = Schemas["PaymentMethodOut"];
export type Plan = Schemas["PlanOut"];
export type RevenueMonth = Schemas["RevenueMonthOut"];
export type StatementLine = Schemas["StatementLineOut"];
export type Dunning = Schemas["DunningOut"];
export type CaughtMail = Schemas["CaughtMailOut"];
export type CreditPurchase = Schemas["CreditPurchaseOut"];

const invalidateBilling = (qc: ReturnType<typeof useQueryClient>) => qc.invalidateQueries({ queryKey: ["billing"] });

export function useBillingOverview(enabled = true) {
  return useQuery({ queryKey: ["billing", "overview"], enabled, queryFn: async () => unwrap(await api.GET("/api/v1/tenant/billing")) });
}

export function useCredit() {
  return useQuery({ queryKey: ["billing", "credit"], queryFn: async () => unwrap(await api.GET("/api/v1/tenant/billing/credit")) });
}

export function useSubscription() {
  return useQuery({
    queryKey: ["billing", "subscription"],
    retry: false,
    queryFn: async () => {
      const r = await api.GET("/api/v1/tenant/billing/subscription");
      return r.response.status === 404 ? null : unwrap(r);
    },
  });
}

export function usePlans() {
  return useQuery({ queryKey: ["billing", "plans"], queryFn: async () => unwrap(await api.GET("/api/v1/tenant/billing/plans")) });
}

export function useChangePlan() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: { plan_name: string; billing_cycle: "monthly" | "annual" }) =>
      unwrap(await api.PUT("/api/v1/tenant/billing/subscription", { body })),
    onSuccess: () => invalidateBilling(qc),
  });
}

export function useCancelPlan() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/api/v1/tenant/billing/subscription")),
    onSuccess: () => invalidateBilling(qc),
  });
}

export function useSetDefaultCard() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/v1/tenant/billing/payment-methods/{method_id}/default", { params: { path: { method_id: id } } })),
    onSuccess: () => invalidateBilling(qc),
  });
}

export function useRemoveCard() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE("/api/v1/tenant/billing/payment-methods/{method_id}", { params: { path: { method_id: id } } })),
    onSuccess: () => invalidateBilling(qc),
  });
}

export function useBuyCredit() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (amount: string) =>
      unwrap(await api.POST("/api/v1/tenant/billing/credit", { body: { amount, request_key: crypto.randomUUID().replaceAll("-", "") } })),
    onSuccess: () => invalidateBilling(qc),
  });
}

// --- adding a card with Stripe.js ---------------------------------------------------------------

interface StripeCard { mount(el: HTMLElement): void; destroy(): void }
interface StripeJs {
  elements(): { create(type: "card"): StripeCard };
  confirmCardSetup(secret: string, data: { payment_method: { card: StripeCard } }): Promise<{ error?: { message?: string } | null }>;
}
declare global {
  interface Window { Stripe?: (key: string) => StripeJs }
}

const loaded = new Map<string, Promise<void>>();

/** Load Stripe.js once from the URL the server names (localstripe's fake one in development). */
export function loadStripeJs(url: string): Promise<void> {
  let p = loaded.get(url);
  if (!p) {
    p = new Promise<void>((resolve, reject) => {
      const s = document.createElement("script");
      s.src = url;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error("Could not load Stripe.js."));
      document.head.appendChild(s);
    });
    loaded.set(url, p);
  }
  return p;
}

/** Start adding a card: a SetupIntent from the server and a mounted Stripe card element. */
export async function startCardSetup(host: HTMLElement) {
  const intent = unwrap(await api.POST("/api/v1/tenant/billing/setup-intents"));
  await loadStripeJs(intent.stripe_js_url);
  if (!window.Stripe) throw new Error("Stripe.js did not start.");
  const stripe = window.Stripe(intent.publishable_key);
  const card = stripe.elements().create("card");
  card.mount(host);
  return {
    card,
    /** Confirm with Stripe (card details go to Stripe only), then store the card with us. */
    async confirm(): Promise<PaymentMethod> {
      const result = await stripe.confirmCardSetup(intent.client_secret, { payment_method: { card } });
      if (result.error) throw new Error(result.error.message ?? "The card was refused.");
      return unwrap(await api.POST("/api/v1/tenant/billing/payment-methods", { body: { setup_intent_id: intent.id } }));
    },
  };
}

/** Fetch a document (invoice HTML or PDF, statement CSV or PDF) with the session and hand it to the browser. */
export async function openDocument(path: string, filename: string | null): Promise<void> {
  const r = await authFetch(new Request(path));
  if (!r.ok) throw new Error(describeStatus(r.status));
  const url = URL.createObjectURL(await r.blob());
  if (filename) {
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    a.click();
  } else {
    window.open(url, "_blank", "noopener");
  }
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// --- partner ------------------------------------------------------------------------------------

export function useStatementMonths() {
  return useQuery({ queryKey: ["statements"], queryFn: async () => unwrap(await api.GET("/api/v1/partner/statements")) });
}

export function useStatement(month: string | null) {
  return useQuery({
    queryKey: ["statements", month],
    enabled: !!month,
    queryFn: async () => unwrap(await api.GET("/api/v1/partner/statements/{month}", { params: { path: { month: month! } } })),
  });
}

// --- app admin ----------------------------------------------------------------------------------

export function useAdminPlans() {
  return useQuery({ queryKey: ["admin", "plans"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/billing/plans")) });
}

export function useCreatePlan() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["PlanIn"]) => unwrap(await api.POST("/api/v1/admin/billing/plans", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "plans"] }),
  });
}

export function useUpdatePlan() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: Schemas["PlanPatch"] }) =>
      unwrap(await api.PATCH("/api/v1/admin/billing/plans/{plan_id}", { params: { path: { plan_id: id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "plans"] }),
  });
}

export function useRevenue(months: number) {
  return useQuery({
    queryKey: ["admin", "revenue", months],
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/billing/revenue", { params: { query: { months } } })),
  });
}

export function useDunning() {
  return useQuery({ queryKey: ["admin", "dunning"], queryFn: async () => unwrap(await api.GET("/api/v1/admin/billing/dunning")) });
}

export function useVoidInvoice() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, reason }: { id: string; reason: string }) =>
      unwrap(await api.POST("/api/v1/admin/billing/invoices/{invoice_id}/void", { params: { path: { invoice_id: id } }, body: { reason } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "dunning"] }),
  });
}

export function useMailbox() {
  return useQuery({
    queryKey: ["admin", "mailbox"],
    refetchInterval: 5000,
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/billing/mailbox")),
  });
}

/** A month label "YYYY-MM" as the unix seconds of its middle (where its point is drawn). */
export function monthPoint(label: string): number {
  const start = Date.parse(`${label}-01T00:00:00Z`);
  const [y, m] = label.split("-").map(Number) as [number, number];
  const end = Date.UTC(m === 12 ? y + 1 : y, m === 12 ? 0 : m, 1);
  return (start + end) / 2000;
}

/** The chart domain of a run of months: from the first month's start to the last one's end. */
export function monthsRange(labels: string[]): [number, number] | undefined {
  if (labels.length === 0) return undefined;
  const sorted = [...labels].sort();
  const first = Date.parse(`${sorted[0]}-01T00:00:00Z`) / 1000;
  const last = monthPoint(sorted[sorted.length - 1]!);
  return [first, 2 * last - Date.parse(`${sorted[sorted.length - 1]}-01T00:00:00Z`) / 1000];
}
