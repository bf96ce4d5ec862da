import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { getToken, onTokenChange, refreshToken } from "@/lib/auth/session";

type Status = "checking" | "signed-in" | "signed-out";
const AuthContext = createContext<Status>("checking");

/** On load, try the refresh cookie once (silent sign-in); then follow the in-memory token. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [status, setStatus] = useState<Status>(getToken() ? "signed-in" : "checking");
  useEffect(() => {
    const off = onTokenChange((t) => {
      setStatus(t ? "signed-in" : "signed-out");
      if (!t) qc.clear();
    });
    if (!getToken()) void refreshToken().then((t) => setStatus(t ? "signed-in" : "signed-out"));
    return () => {
      off();
    };
  }, [qc]);
  return <AuthContext.Provider value={status}>{children}</AuthContext.Provider>;
}

export const useAuthStatus = () => useContext(AuthContext);
