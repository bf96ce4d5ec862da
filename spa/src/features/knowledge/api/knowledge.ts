import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, describeStatus, unwrap, type Schemas } from "@/lib/api/client";
import { getToken } from "@/lib/auth/session";

export type Document = Schemas["DocumentOut"];
export type DocumentDetail = Schemas["DocumentDetail"];
export type SearchHit = Schemas["SearchHit"];

/** The workspace's documents; polled while any is still being ingested. */
export function useDocuments() {
  return useQuery({
    queryKey: ["documents"],
    queryFn: async () => unwrap(await api.GET("/api/v1/documents")),
    refetchInterval: (q) => ((q.state.data ?? []).some((d) => d.upload_status === "processing") ? 1500 : false),
  });
}

export function useDocument(id: string | null, chunk?: number) {
  return useQuery({
    queryKey: ["documents", id, chunk ?? null],
    enabled: !!id,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/documents/{document_id}", { params: { path: { document_id: id! }, query: { chunk } } })),
    refetchInterval: (q) => (q.state.data?.upload_status === "processing" ? 1500 : false),
  });
}

export function useDeleteDocument() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE("/api/v1/documents/{document_id}", { params: { path: { document_id: id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["documents"] }),
  });
}

export function useSearch(q: string, agentId?: string) {
  return useQuery({
    queryKey: ["knowledge-search", q, agentId ?? null],
    enabled: q.trim().length > 0,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/knowledge/search", { params: { query: { q, agent_id: agentId || undefined, limit: 5 } } })),
  });
}

/**
 * Upload one file with progress (fetch reports none for request bodies, XMLHttpRequest does).
 * Resolves with the stored document; rejects with an ApiError in words for people.
 */
export function uploadDocument(file: File, onProgress: (fraction: number) => void): Promise<DocumentDetail> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/documents");
    const token = getToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: { detail?: unknown } = {};
      try {
        body = JSON.parse(xhr.responseText) as { detail?: unknown };
      } catch {
        /* not JSON: described by its status */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as DocumentDetail);
      else {
        const detail = typeof body.detail === "string" ? body.detail : undefined;
        reject(new ApiError(xhr.status, describeStatus(xhr.status, detail)));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, describeStatus(0)));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
