import { useMemo } from "react";
import { renderMarkdown } from "@/lib/markdown";

/** Agent replies as sanitized markdown (code blocks, lists, tables, links). */
export function Markdown({ source }: { source: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  return <div className="md" dangerouslySetInnerHTML={{ __html: html }} />;
}
