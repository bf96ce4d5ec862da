import { useOidcProviders } from "@/features/auth/api/identity";

/** "Sign in with Google / Microsoft" for each provider the app admin configured. A plain
 * link: the server sends the browser on to the provider (web/auth/oidc.py). */
export function OidcButtons() {
  const providers = useOidcProviders();
  if (!providers.data?.length) return null;
  return (
    <div className="oidc-buttons">
      {providers.data.map((p) => (
        <a key={p.slug} className={`btn btn-ghost wide oidc oidc-${p.kind}`} href={`/api/v1/auth/oidc/${encodeURIComponent(p.slug)}/start`}>
          <span className="oidc-mark" aria-hidden="true">{p.kind === "google" ? "G" : p.kind === "microsoft" ? "⊞" : "◎"}</span>
          Sign in with {p.display_name}
        </a>
      ))}
      <p className="muted or"><span>or with your password</span></p>
    </div>
  );
}
