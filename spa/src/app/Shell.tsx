import { Suspense, useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { Button } from "@/components/ui/Button";
import { useMe, type Role } from "@/lib/auth/me";
import { logout } from "@/features/auth/api/auth";
import { Loading } from "@/app/guards";
import { useBrandTheme, useMyBrand } from "@/lib/brand";
import { SuspendedBanner } from "@/features/billing/components/SuspendedBanner";

interface Item { to: string; label: string }
const NAV: { title: string; roles: Role[]; items: Item[] }[] = [
  { title: "Chat", roles: ["tenant_admin", "support", "user"], items: [{ to: "/chat", label: "Conversations" }] },
  { title: "Support", roles: ["tenant_admin", "support"], items: [{ to: "/inbox", label: "Inbox" }] },
  {
    title: "Workspace",
    roles: ["tenant_admin"],
    items: [
      { to: "/console/agents", label: "Agents" },
      { to: "/console/knowledge", label: "Knowledge" },
      { to: "/console/workflows", label: "Workflows" },
      { to: "/console/users", label: "Users" },
      { to: "/console/access", label: "Access" },
      { to: "/console/api-keys", label: "API keys" },
      { to: "/console/usage", label: "Usage" },
      { to: "/console/executions", label: "Live executions" },
      { to: "/console/budget", label: "Budget" },
      { to: "/console/billing", label: "Billing" },
      { to: "/console/webhooks", label: "Webhooks" },
      { to: "/console/audit", label: "Audit log" },
      { to: "/console/plan", label: "Plan & data" },
      { to: "/console/widgets", label: "Widgets" },
      { to: "/console/channels", label: "Channels" },
    ],
  },
  {
    title: "Partner",
    roles: ["partner_admin"],
    items: [
      { to: "/partner/tenants", label: "Tenants" },
      { to: "/partner/live", label: "Live usage" },
      { to: "/partner/earnings", label: "Earnings" },
      { to: "/partner/statements", label: "Statements" },
      { to: "/partner/rates", label: "Rates" },
      { to: "/partner/branding", label: "Branding" },
      { to: "/partner/support", label: "Support access" },
    ],
  },
  {
    title: "Platform",
    roles: ["app_admin"],
    items: [
      { to: "/admin/partners", label: "Partners" },
      { to: "/admin/tenants", label: "Tenants" },
      { to: "/admin/tiers", label: "Tiers" },
      { to: "/admin/rates", label: "System rates" },
      { to: "/admin/models", label: "Models" },
      { to: "/admin/providers", label: "Providers" },
      { to: "/admin/identity-providers", label: "Sign-in providers" },
      { to: "/admin/dead-letters", label: "Dead letters" },
      { to: "/admin/plans", label: "Plans" },
      { to: "/admin/revenue", label: "Revenue" },
      { to: "/admin/dunning", label: "Dunning" },
      { to: "/admin/mailbox", label: "Mailbox" },
      { to: "/admin/health", label: "Health" },
      { to: "/admin/audit", label: "Audit log" },
    ],
  },
  { title: "Account", roles: ["app_admin", "partner_admin", "tenant_admin", "user"], items: [{ to: "/profile", label: "Profile and security" }] },
];

export function Shell() {
  const me = useMe();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const role = me.data?.role as Role | undefined;
  const brand = useMyBrand(!!me.data);
  useBrandTheme(brand.data);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <aside className={`glass sidebar${open ? " open" : ""}`}>
        <NavLink to="/" className="brand">
          <span className="brand-orb" aria-hidden="true" />
          {brand.data?.logo_url ? <img className="brand-logo" src={brand.data.logo_url} alt="" height={28} /> : null}
          <span className="rose-text" data-testid="product-name">{brand.data?.product_name ?? "Hirebuddha"}</span>
        </NavLink>
        <Button className="menu-toggle" aria-expanded={open} aria-controls="main-nav" onClick={() => setOpen(!open)}>
          {open ? "Close menu" : "Menu"}
        </Button>
        <nav id="main-nav" aria-label="Main" onClick={() => setOpen(false)}>
          {NAV.filter((g) => role && g.roles.includes(role)).map((g) => (
            <div className="nav-group" key={g.title}>
              <h2>{g.title}</h2>
              <ul>
                {g.items.map((i) => (
                  <li key={i.to}>
                    <NavLink to={i.to} className={({ isActive }) => `nav-link${isActive ? " active" : ""}`}>{i.label}</NavLink>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </nav>
        <div className="who">
          {me.data ? (
            <p>
              <strong>{me.data.user.full_name}</strong>
              <br />
              <span className="muted">{me.data.tenant.name} · {me.data.role.replace("_", " ")}</span>
            </p>
          ) : null}
          <Button onClick={() => void logout().then(() => navigate("/login"))}>Sign out</Button>
        </div>
      </aside>
      <main id="main" tabIndex={-1}>
        {me.data ? <SuspendedBanner me={me.data} /> : null}
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
