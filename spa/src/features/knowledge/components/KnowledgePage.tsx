import { useState, type DragEvent, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { Alert, QueryError } from "@/components/ui/Alert";
import { StatusBadge } from "@/components/ui/Badge";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { Table } from "@/components/ui/Table";
import { formatDate, formatNumber } from "@/lib/format";
import { useMe } from "@/lib/auth/me";
import {
  uploadDocument,
  useDeleteDocument,
  useDocument,
  useDocuments,
  useSearch,
  type Document,
} from "@/features/knowledge/api/knowledge";

interface Upload {
  name: string;
  progress: number;
  error?: string;
  done?: boolean;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function Dropzone() {
  const qc = useQueryClient();
  const [over, setOver] = useState(false);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const patch = (name: string, change: Partial<Upload>) =>
    setUploads((all) => all.map((u) => (u.name === name ? { ...u, ...change } : u)));
  const send = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      setUploads((all) => [...all.filter((u) => u.name !== file.name), { name: file.name, progress: 0 }]);
      uploadDocument(file, (p) => patch(file.name, { progress: p }))
        .then(() => {
          patch(file.name, { progress: 1, done: true });
          void qc.invalidateQueries({ queryKey: ["documents"] });
        })
        .catch((e: Error) => patch(file.name, { error: e.message }));
    }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    send(e.dataTransfer.files);
  };
  return (
    <Card title="Upload">
      <label
        className={`dropzone${over ? " dropzone-over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <input type="file" multiple className="sr-only" aria-label="Choose files to upload" onChange={(e) => send(e.target.files)} />
        <strong>Drop files here</strong> or click to choose
        <span className="muted">PDF, DOCX, HTML, Markdown or text — the type is read from the content.</span>
      </label>
      {uploads.length ? (
        <ul className="upload-list" aria-label="Uploads">
          {uploads.map((u) => (
            <li key={u.name}>
              <span className="upload-name">{u.name}</span>
              {u.error ? (
                <span className="msg-error" role="alert">{u.error}</span>
              ) : (
                <progress max={1} value={u.progress} aria-label={`Upload of ${u.name}`}>{Math.round(u.progress * 100)}%</progress>
              )}
              {u.done ? <span className="muted">uploaded</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

function Detail({ id, cited, onClose }: { id: string; cited: string | null; onClose: () => void }) {
  const doc = useDocument(id, cited === null ? undefined : Number(cited));
  if (doc.error) return <QueryError error={doc.error} />;
  if (!doc.data) return null;
  const d = doc.data;
  return (
    <Card title={d.filename} actions={<Button onClick={onClose}>Close</Button>} aria-label="Document">
      <p className="muted">
        {d.file_type} · {size(d.size_bytes)} · {formatNumber(d.chunk_count)} chunks · {formatNumber(d.embedding_tokens)} embedding tokens · <StatusBadge status={d.upload_status} />
      </p>
      {d.error ? <Alert tone="error" title="Ingestion failed">{d.error}</Alert> : null}
      {(d.preview ?? []).map((c) => (
        <blockquote key={c.chunk_index} id={`chunk-${c.chunk_index}`} className={`chunk${String(c.chunk_index) === cited ? " chunk-cited" : ""}`}>
          <span className="muted">#{c.chunk_index}</span> {c.content}
        </blockquote>
      ))}
    </Card>
  );
}

function SearchBox() {
  const [draft, setDraft] = useState("");
  const [q, setQ] = useState("");
  const search = useSearch(q);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQ(draft.trim());
  };
  return (
    <Card title="Test search">
      <form onSubmit={submit}>
        <TextField label="Question" name="q" value={draft} onChange={(e) => setDraft(e.target.value)} hint="Hybrid search: meaning (vectors) and words (full text), fused." />
        <Button type="submit" variant="primary" busy={search.isFetching}>Search</Button>
      </form>
      {search.error ? <QueryError error={search.error} /> : null}
      {search.data ? (
        search.data.hits.length ? (
          <ol className="hits" aria-label="Search results">
            {search.data.hits.map((h) => (
              <li key={`${h.document_id}-${h.chunk_index}`}>
                <strong>{h.filename}</strong> <span className="muted">#{h.chunk_index} · score {h.score.toFixed(4)}</span>
                <p>{h.content}</p>
              </li>
            ))}
          </ol>
        ) : (
          <p className="empty">No passage matches.</p>
        )
      ) : null}
    </Card>
  );
}

export function KnowledgePage() {
  const me = useMe();
  const admin = me.data?.role === "tenant_admin";
  const docs = useDocuments();
  const remove = useDeleteDocument();
  const [params, setParams] = useSearchParams();
  const open = params.get("document");
  const cited = params.get("chunk");
  const show = (id: string | null) => setParams(id ? { document: id } : {});
  return (
    <>
      <PageHeader title="Knowledge" subtitle="Documents your agents search and cite. Attach them to an agent in its editor." />
      {admin ? <Dropzone /> : null}
      {open ? <Detail id={open} cited={cited} onClose={() => show(null)} /> : null}
      <Card title="Documents">
        {docs.error ? <QueryError error={docs.error} /> : null}
        {remove.error ? <Alert tone="error">{remove.error.message}</Alert> : null}
        <Table<Document>
          caption="Documents"
          rows={docs.data ?? []}
          rowKey={(d) => d.id}
          empty="No documents yet: upload one above."
          columns={[
            { key: "name", header: "File", render: (d) => <button type="button" className="link" onClick={() => show(d.id)}>{d.filename}</button> },
            { key: "type", header: "Type", render: (d) => d.file_type },
            { key: "status", header: "Status", render: (d) => <span title={d.error ?? undefined}><StatusBadge status={d.upload_status} /></span> },
            { key: "chunks", header: "Chunks", numeric: true, render: (d) => formatNumber(d.chunk_count) },
            { key: "size", header: "Size", numeric: true, render: (d) => size(d.size_bytes) },
            { key: "created", header: "Uploaded", render: (d) => formatDate(d.created_at) },
            {
              key: "actions",
              header: <span className="sr-only">Actions</span>,
              render: (d) =>
                admin ? (
                  <Button variant="danger" onClick={() => confirm(`Delete ${d.filename}?`) && remove.mutate(d.id, { onSuccess: () => open === d.id && show(null) })}>
                    Delete
                  </Button>
                ) : null,
            },
          ]}
        />
      </Card>
      <SearchBox />
    </>
  );
}
