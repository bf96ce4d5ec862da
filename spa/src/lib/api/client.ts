// The typed API client: paths and bodies come from schema.d.ts, generated from the server's
// OpenAPI document, so a server change that breaks the console breaks `npm run typecheck`.
import createClient from "openapi-fetch";
import { getToken, refreshToken } from "@/lib/auth/session";
import type { components, paths } from "@/lib/api/schema";

export type Schemas = components["schemas"];

/** fetch with the bearer token; on 401 refresh once through the cookie and retry. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const withToken = (req: Request, token: string | null) => {
    if (token) req.headers.set("Authorization", `Bearer ${token}`);
    return req;
  };
  const first = await fetch(withToken(input, getToken()));
  if (first.status !== 401 || input.url.includes("/api/v1/auth/")) return first;
  const token = await refreshToken();
  return token ? fetch(withToken(retry, token)) : first;
}

export const api = createClient<paths>({ baseUrl: "", fetch: authFetch });

/** An RFC 9457 style error from the server, or a network failure, in words for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function describeStatus(status: number, detail?: string): string {
  if (status === 0) return "Cannot reach the server. Check your connection and try again.";
  if (status === 401) return "Your session has ended. Please sign in again.";
  if (status === 403) return detail ?? "You do not have permission to do that.";
  if (status === 404) return detail ?? "Not found: it may have been deleted.";
  if (status === 409) return detail ?? "That conflicts with the current state. Reload and try again.";
  if (status === 402) return detail ?? "Your workspace is out of credit. Add credit or a payment method to continue.";
  if (status === 429) return "Too many requests right now. Wait a moment and try again.";
  if (status >= 500) return "The server had a problem. Try again in a moment.";
  return detail ?? `Request failed (${status}).`;
}

/** Unwrap an openapi-fetch result: the data, or throw an ApiError with a readable message. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  const err = result.error as { detail?: unknown; extra?: unknown } | undefined;
  const detail = typeof err?.detail === "string" ? err.detail : undefined;
  throw new ApiError(result.response.status, describeStatus(result.response.status, detail));
}
