// Identity: MFA, OIDC, links mailed to people, the profile, invitations, domains, support
// access and the app admin's identity providers (docs/identity.md).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import { setToken } from "@/lib/auth/session";
import { meKey } from "@/lib/auth/me";
import { createPasskey, getPasskey } from "@/features/auth/lib/webauthn";

export type LoginOut = Schemas["LoginOut"];
export type Challenge = Schemas["MfaChallengeOut"];
export type Session = LoginOut | Challenge;

export const isChallenge = (out: Session): out is Challenge => "mfa_required" in out;

/** Keep the access token of a session (the refresh cookie came with the same answer). */
export function useStartSession() {
  const qc = useQueryClient();
  return (out: LoginOut) => {
    qc.clear();
    setToken(out.access_token);
  };
}

// --- sign-in steps -------------------------------------------------------------------------

export function useOidcProviders() {
  return useQuery({
    queryKey: ["oidc-providers"],
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/oidc/providers")),
    staleTime: 300_000,
  });
}

export function useMfaVerify() {
  return useMutation({
    mutationFn: async (body: Schemas["MfaVerifyIn"]) => unwrap(await api.POST("/api/v1/auth/mfa/verify", { body })),
  });
}

export function useMfaLoginSetup() {
  return useMutation({
    mutationFn: async (mfa_token: string) => unwrap(await api.POST("/api/v1/auth/mfa/setup", { body: { mfa_token } })),
  });
}

export function useMfaLoginConfirm() {
  return useMutation({
    mutationFn: async (body: Schemas["MfaVerifyIn"]) => unwrap(await api.POST("/api/v1/auth/mfa/confirm", { body })),
  });
}

/** A passkey as the first second factor, when the workspace requires one at sign-in:
 * creation options for the set-up challenge, the browser's dialog, then the session. */
export function usePasskeyLoginSetup() {
  return useMutation({
    mutationFn: async ({ mfa_token, name }: { mfa_token: string; name: string }) => {
      const options = unwrap(await api.POST("/api/v1/auth/mfa/setup/webauthn/begin", { body: { mfa_token } }));
      const credential = await createPasskey(options);
      return unwrap(await api.POST("/api/v1/auth/mfa/setup/webauthn/complete", { body: { mfa_token, credential, name } }));
    },
  });
}

/** Second step with a passkey: request options for the challenge, the browser's dialog,
 * then the assertion for a session. */
export function usePasskeyLogin() {
  return useMutation({
    mutationFn: async (mfa_token: string) => {
      const options = unwrap(await api.POST("/api/v1/auth/mfa/webauthn/login/begin", { body: { mfa_token } }));
      const credential = await getPasskey(options);
      return unwrap(await api.POST("/api/v1/auth/mfa/webauthn/login/complete", { body: { mfa_token, credential } }));
    },
  });
}

export function useLinkAccount() {
  return useMutation({
    mutationFn: async (body: Schemas["LinkIn"]) => unwrap(await api.POST("/api/v1/auth/oidc/link", { body })),
  });
}

// --- links mailed to people ----------------------------------------------------------------

export function useVerifyEmail() {
  return useMutation({
    mutationFn: async (token: string) => unwrap(await api.POST("/api/v1/auth/verify-email", { body: { token } })),
  });
}

export function useForgotPassword() {
  return useMutation({
    mutationFn: async (email: string) => unwrap(await api.POST("/api/v1/auth/password/forgot", { body: { email } })),
  });
}

export function useResetPassword() {
  return useMutation({
    mutationFn: async (body: Schemas["ResetIn"]) => unwrap(await api.POST("/api/v1/auth/password/reset", { body })),
  });
}

export function useAcceptInvitation() {
  return useMutation({
    mutationFn: async (body: Schemas["AcceptIn"]) => unwrap(await api.POST("/api/v1/auth/invitations/accept", { body })),
  });
}

// --- the profile ---------------------------------------------------------------------------

function useInvalidating<A, R>(fn: (arg: A) => Promise<R>, keys: readonly (readonly string[])[]) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: () => keys.forEach((queryKey) => void qc.invalidateQueries({ queryKey })),
  });
}

export const useRename = () =>
  useInvalidating(async (full_name: string) => unwrap(await api.PATCH("/api/v1/me/profile", { body: { full_name } })), [meKey]);
export const useChangeEmail = () =>
  useInvalidating(async (body: Schemas["EmailChangeIn"]) => unwrap(await api.POST("/api/v1/me/email", { body })), [meKey]);
export const useResendVerification = () =>
  useInvalidating(async () => unwrap(await api.POST("/api/v1/me/verification")), [meKey]);

export function useChangePassword() {
  const start = useStartSession();
  return useMutation({
    mutationFn: async (body: Schemas["PasswordChangeIn"]) => unwrap(await api.POST("/api/v1/me/password", { body })),
    onSuccess: start,
  });
}

const mfaKey = ["me", "mfa"] as const;
export const useMfaStatus = () => useQuery({ queryKey: mfaKey, queryFn: async () => unwrap(await api.GET("/api/v1/me/mfa")) });
export const useMfaSetup = () => useMutation({ mutationFn: async () => unwrap(await api.POST("/api/v1/me/mfa/setup")) });
export const useMfaConfirm = () =>
  useInvalidating(async (code: string) => unwrap(await api.POST("/api/v1/me/mfa/confirm", { body: { code } })), [mfaKey, meKey]);
export const useMfaDisable = () =>
  useInvalidating(async (password: string) => unwrap(await api.POST("/api/v1/me/mfa/disable", { body: { password } })), [mfaKey, meKey]);

export type Passkey = Schemas["PasskeyOut"];
const passkeysKey = ["me", "passkeys"] as const;
export const usePasskeys = () =>
  useQuery({ queryKey: passkeysKey, queryFn: async () => unwrap(await api.GET("/api/v1/auth/mfa/webauthn/credentials")) });
export const useAddPasskey = () =>
  useInvalidating(async (name: string) => {
    const options = unwrap(await api.POST("/api/v1/auth/mfa/webauthn/register/begin"));
    const credential = await createPasskey(options);
    return unwrap(await api.POST("/api/v1/auth/mfa/webauthn/register/complete", { body: { credential, name } }));
  }, [passkeysKey, mfaKey]);
export const useRemovePasskey = () =>
  useInvalidating(
    async (credential_id: string) =>
      unwrap(await api.DELETE("/api/v1/auth/mfa/webauthn/credentials/{credential_id}", { params: { path: { credential_id } } })),
    [passkeysKey, mfaKey],
  );

// --- the tenant admin's access page --------------------------------------------------------

const invitationsKey = ["tenant", "invitations"] as const;
const domainsKey = ["tenant", "domains"] as const;
const supportKey = ["tenant", "support"] as const;

export const useInvitations = () =>
  useQuery({ queryKey: invitationsKey, queryFn: async () => unwrap(await api.GET("/api/v1/tenant/invitations")) });
export const useInvite = () =>
  useInvalidating(async (body: Schemas["InvitationIn"]) => unwrap(await api.POST("/api/v1/tenant/invitations", { body })), [invitationsKey]);
export const useRevokeInvitation = () =>
  useInvalidating(
    async (invitation_id: string) =>
      unwrap(await api.DELETE("/api/v1/tenant/invitations/{invitation_id}", { params: { path: { invitation_id } } })),
    [invitationsKey],
  );

export const useDomains = () => useQuery({ queryKey: domainsKey, queryFn: async () => unwrap(await api.GET("/api/v1/tenant/domains")) });
export const useClaimDomain = () =>
  useInvalidating(async (domain: string) => unwrap(await api.POST("/api/v1/tenant/domains", { body: { domain } })), [domainsKey]);
export const useWithdrawDomain = () =>
  useInvalidating(
    async (claim_id: string) => unwrap(await api.DELETE("/api/v1/tenant/domains/{claim_id}", { params: { path: { claim_id } } })),
    [domainsKey],
  );

export const useRequireMfa = () =>
  useInvalidating(async (require_mfa: boolean) => unwrap(await api.PUT("/api/v1/tenant/security", { body: { require_mfa } })), [meKey]);

export const useSupportGrants = () =>
  useQuery({ queryKey: supportKey, queryFn: async () => unwrap(await api.GET("/api/v1/tenant/support-access")) });
export const useGrantSupport = () =>
  useInvalidating(async (hours: number) => unwrap(await api.POST("/api/v1/tenant/support-access", { body: { hours } })), [supportKey]);
export const useRevokeSupport = () =>
  useInvalidating(
    async (grant_id: string) =>
      unwrap(await api.DELETE("/api/v1/tenant/support-access/{grant_id}", { params: { path: { grant_id } } })),
    [supportKey],
  );

// --- the app admin's identity providers ----------------------------------------------------

const idpKey = ["admin", "identity-providers"] as const;
export type IdentityProvider = Schemas["IdentityProviderOut"];
export const useIdentityProviders = () =>
  useQuery({ queryKey: idpKey, queryFn: async () => unwrap(await api.GET("/api/v1/admin/identity-providers")) });
export const useCreateIdentityProvider = () =>
  useInvalidating(
    async (body: Schemas["IdentityProviderIn"]) => unwrap(await api.POST("/api/v1/admin/identity-providers", { body })),
    [idpKey],
  );
export const useUpdateIdentityProvider = () =>
  useInvalidating(
    async ({ id, patch }: { id: string; patch: Schemas["IdentityProviderPatch"] }) =>
      unwrap(await api.PATCH("/api/v1/admin/identity-providers/{provider_id}", { params: { path: { provider_id: id } }, body: patch })),
    [idpKey],
  );
export const useDeleteIdentityProvider = () =>
  useInvalidating(
    async (id: string) =>
      unwrap(await api.DELETE("/api/v1/admin/identity-providers/{provider_id}", { params: { path: { provider_id: id } } })),
    [idpKey],
  );
