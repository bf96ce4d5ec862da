import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import { setToken } from "@/lib/auth/session";

export function useLogin() {
  return useMutation({
    // An MFA challenge carries no token: the login page asks for the code first.
    mutationFn: async (body: Schemas["LoginIn"]) => unwrap(await api.POST("/api/v1/auth/login", { body })),
  });
}

export function useRegister() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["RegisterIn"]) => unwrap(await api.POST("/api/v1/auth/register", { body })),
    onSuccess: (out) => {
      if (!("access_token" in out)) return; // a claimed domain: a link was mailed first
      qc.clear();
      setToken(out.access_token);
    },
  });
}

export async function logout(): Promise<void> {
  try {
    await api.POST("/api/v1/auth/logout", { body: null });
  } finally {
    setToken(null);
  }
}
