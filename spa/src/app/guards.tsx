import { useState, type ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { homeFor, useMe, type Role } from "@/lib/auth/me";
import { useAuthStatus } from "@/features/auth/components/AuthProvider";

export function Loading() {
  return <p className="muted" role="status" style={{ padding: "2rem" }}>Loading…</p>;
}

/** Signed in, or off to /login (and back here afterwards). */
export function RequireAuth({ children }: { children: ReactNode }) {
  const status = useAuthStatus();
  const location = useLocation();
  if (status === "checking") return <Loading />;
  if (status === "signed-out") return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return children;
}

export function RequireRole({ roles, children }: { roles: Role[]; children: ReactNode }) {
  const me = useMe();
  if (me.isPending) return <Loading />;
  if (me.data && !roles.includes(me.data.role as Role)) {
    return <Alert tone="warning" title="Not for your role">This page is for {roles.join(" or ").replaceAll("_", " ")}s.</Alert>;
  }
  return children;
}

/** Sign-in pages: someone already signed in when they open one goes home; someone who signs
 * in on it is sent on by the form itself (so the two redirects never race). */
export function GuestOnly({ children }: { children: ReactNode }) {
  const status = useAuthStatus();
  const [arrivedSignedIn, setArrivedSignedIn] = useState<boolean | null>(null);
  if (arrivedSignedIn === null && status !== "checking") setArrivedSignedIn(status === "signed-in");
  if (status === "checking" || arrivedSignedIn === null) return <Loading />;
  return arrivedSignedIn ? <Navigate to="/" replace /> : children;
}

export function Home() {
  const me = useMe();
  if (me.isPending) return <Loading />;
  return <Navigate to={homeFor(me.data?.role)} replace />;
}
