import { Suspense, useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { Button } from "@/components/ui/Button";
import { useMe, type Role } from "@/lib/auth/me";
import { logout } from "@/features/auth/api/auth";
import { Loading } from "@/app/guards";

interface Item { to: string; label: string }
const NAV: { title: string; roles: Role[]; items: Item[] }[] = [
  { title: "Chat", roles: ["tenant_admin", "user"], items: [{ to: "/chat", label: "Conversations" }] },
  {
    title: "Workspace",
    roles: ["tenant_admin"],
    items: [
      { to: "/console/agents", label: "Agents" },
      { to: "/console/workflows", label: "Workflows" },
      { to: "/console/users", label: "Users" },
      { to: "/console/api-keys", label: "API keys" },
      { to: "/console/usage", label: "Usage" },
      { to: "/console/executions", label: "Live executions" },
      { to: "/console/budget", label: "Budget" },
      { to: "/console/webhooks", label: "Webhooks" },
      { to: "/console/audit", label: "Audit log" },
    ],
  },
  {
    title: "Partner",
    roles: ["partner_admin"],
    items: [
      { to: "/partner/tenants", label: "Tenants" },
      { to: "/partner/live", label: "Live usage" },
      { to: "/partner/earnings", label: "Earnings" },
      { to: "/partner/rates", label: "Rates" },
    ],
  },
  {
    title: "Platform",
    roles: ["app_admin"],
    items: [
      { to: "/admin/partners", label: "Partners" },
      { to: "/admin/tenants", label: "Tenants" },
      { to: "/admin/rates", label: "System rates" },
      { to: "/admin/models", label: "Models" },
      { to: "/admin/providers", label: "Providers" },
      { to: "/admin/dead-letters", label: "Dead letters" },
      { to: "/admin/health", label: "Health" },
      { to: "/admin/audit", label: "Audit log" },
    ],
  },
];

export function Shell() {
  const me = useMe();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const role = me.data?.role as Role | undefined;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <aside className={`glass sidebar${open ? " open" : ""}`}>
        <NavLink to="/" className="brand">
          <span className="brand-orb" aria-hidden="true" />
          <span className="rose-text">Hirebuddha</span>
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
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
