// The access token lives in this module's memory only (never storage); the refresh token is the
// HttpOnly `hb_refresh` cookie, which the browser sends to /api/v1/auth/* by itself.

type Listener = (token: string | null) => void;

let accessToken: string | null = null;
let refreshing: Promise<string | null> | null = null;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  return accessToken;
}

export function setToken(token: string | null): void {
  accessToken = token;
  listeners.forEach((l) => l(token));
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** One refresh at a time: concurrent 401s share the same rotation (a reused token revokes all). */
export function refreshToken(): Promise<string | null> {
  refreshing ??= (async () => {
    try {
      const r = await fetch("/api/v1/auth/refresh", { method: "POST", credentials: "same-origin" });
      if (!r.ok) {
        setToken(null);
        return null;
      }
      const body = (await r.json()) as { access_token: string };
      setToken(body.access_token);
      return body.access_token;
    } catch {
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}
