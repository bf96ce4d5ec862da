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

/** What to show for a failed query: the server's reason in words, as an error. */
export function QueryError({ error }: { error: unknown }) {
  return <Alert tone="error" title="Something went wrong">{error instanceof Error ? error.message : String(error)}</Alert>;
}
