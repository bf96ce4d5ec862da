import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, describeStatus, unwrap, type Schemas } from "@/lib/api/client";

export type Workflow = Schemas["WorkflowOut"];
export type Run = Schemas["RunOut"];
export type NodeRun = Schemas["NodeRunOut"];

export interface DagNode {
  id: string;
  type: string;
  position?: { x: number; y: number };
  [setting: string]: unknown;
}
export interface DagEdge {
  source: string;
  target: string;
  condition?: string;
  [extra: string]: unknown;
}
export interface Dag {
  nodes: DagNode[];
  edges: DagEdge[];
}

/** One reason the server refused a DAG: the node (null: the whole DAG) and field. */
export interface Problem {
  node: string | null;
  field: string;
  message: string;
}

/** A save refused with 422 `invalid_workflow`: every problem, to show on the nodes. */
export class InvalidWorkflow extends ApiError {
  constructor(
    message: string,
    readonly problems: Problem[],
  ) {
    super(422, message);
  }
}

function unwrapSave<T>(result: { data?: T; error?: unknown; response: Response }): T {
  const err = result.error as { code?: string; detail?: string; errors?: Problem[] } | undefined;
  if (result.response.status === 422 && err?.code === "invalid_workflow") {
    throw new InvalidWorkflow(err.detail ?? "The workflow is not valid.", err.errors ?? []);
  }
  if (!result.response.ok) throw new ApiError(result.response.status, describeStatus(result.response.status, err?.detail));
  return result.data as T;
}

export function useWorkflowList() {
  return useQuery({ queryKey: ["workflows"], queryFn: async () => unwrap(await api.GET("/api/v1/workflows")) });
}

export function useWorkflow(id: string | undefined) {
  return useQuery({
    queryKey: ["workflows", id],
    enabled: !!id,
    queryFn: async () => unwrap(await api.GET("/api/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id! } } })),
  });
}

export function useSaveWorkflow(id: string | undefined) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: { name: string; dag_structure: Dag; is_active: boolean }) =>
      id
        ? unwrapSave(await api.PATCH("/api/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id } }, body }))
        : unwrapSave(await api.POST("/api/v1/workflows", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["workflows"] }),
  });
}

export function useStartRun(id: string | undefined) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (input: Record<string, unknown>) =>
      unwrap(await api.POST("/api/v1/workflows/{workflow_id}/runs", { params: { path: { workflow_id: id! } }, body: { input } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["workflow-runs"] }),
  });
}

export function useRuns(id: string | undefined) {
  return useQuery({
    queryKey: ["workflow-runs", id],
    enabled: !!id,
    refetchInterval: 5_000,
    refetchOnMount: "always",
    queryFn: async () => unwrap(await api.GET("/api/v1/workflows/{workflow_id}/runs", { params: { path: { workflow_id: id! } } })),
  });
}

export function useRun(runId: string | undefined) {
  return useQuery({
    queryKey: ["workflow-run", runId],
    enabled: !!runId,
    queryFn: async () => unwrap(await api.GET("/api/v1/workflow-runs/{run_id}", { params: { path: { run_id: runId! } } })),
  });
}

export function useCancelRun() {
  return useMutation({
    mutationFn: async (runId: string) =>
      unwrap(await api.POST("/api/v1/workflow-runs/{run_id}/cancel", { params: { path: { run_id: runId } } })),
  });
}

export function useGiveInput(runId: string) {
  return useMutation({
    mutationFn: async ({ node, input }: { node: string; input: unknown }) =>
      unwrap(
        await api.POST("/api/v1/workflow-runs/{run_id}/nodes/{node_id}/input", {
          params: { path: { run_id: runId, node_id: node } },
          body: { input },
        }),
      ),
  });
}

/** Chat models of the catalog a `model` step may name. */
export function useChatModels() {
  return useQuery({
    queryKey: ["models"],
    staleTime: 60_000,
    queryFn: async () => unwrap(await api.GET("/api/v1/models")),
    select: (models) => models.filter((m) => m.model_type === "chat").map((m) => m.model_key),
  });
}
