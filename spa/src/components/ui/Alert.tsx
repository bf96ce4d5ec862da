import type { ReactNode } from "react";

type Tone = "error" | "info" | "success" | "warning";

export function Alert({ tone = "info", title, children }: { tone?: Tone; title?: string; children?: ReactNode }) {
  return (
    <div className={`alert alert-${tone}`} role={tone === "error" ? "alert" : "status"}>
      {title ? <strong>{title}</strong> : null}
      {children ? <div>{children}</div> : null}
    </div>
  );
}

/** What to show for a failed query: "not available yet" for a route this server does not have. */
export function QueryError({ error }: { error: unknown }) {
  const status = (error as { status?: number } | null)?.status;
  if (status === 404) {
    return (
      <Alert tone="info" title="Not available yet">
        This part of the platform is not enabled on this server yet.
      </Alert>
    );
  }
  return <Alert tone="error" title="Something went wrong">{error instanceof Error ? error.message : String(error)}</Alert>;
}
