// Widgets (/widgets) and messaging channels (/channels) of the tenant (docs/channels.md).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Widget = Schemas["WidgetOut"];
export type WidgetIn = Schemas["WidgetIn"];
export type Channel = Schemas["ChannelOut"];
export type ChannelIn = Schemas["ChannelIn"];
export type ChannelCreated = Schemas["ChannelCreated"];

/** The tenant's agents, to choose which one answers a widget or a channel. */
export function useAgentChoices() {
  return useQuery({ queryKey: ["agents"], queryFn: async () => unwrap(await api.GET("/api/v1/agents")) });
}

export function useWidgets() {
  return useQuery({ queryKey: ["widgets"], queryFn: async () => unwrap(await api.GET("/api/v1/widgets")) });
}

export function useCreateWidget() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: WidgetIn) => unwrap(await api.POST("/api/v1/widgets", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["widgets"] }),
  });
}

export function useDeleteWidget() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE("/api/v1/widgets/{widget_id}", { params: { path: { widget_id: id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["widgets"] }),
  });
}

export function useChannels() {
  return useQuery({ queryKey: ["channels"], queryFn: async () => unwrap(await api.GET("/api/v1/channels")) });
}

export function useCreateChannel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: ChannelIn) => unwrap(await api.POST("/api/v1/channels", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["channels"] }),
  });
}

export function useDeleteChannel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE("/api/v1/channels/{channel_id}", { params: { path: { channel_id: id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["channels"] }),
  });
}

/** The `<script>` tag a customer pastes into its pages. */
export function snippet(publicKey: string, origin = window.location.origin): string {
  return `<script src="${origin}/widget.js" data-widget="${publicKey}" async></script>`;
}

const PREVIEW_HOST = "hirebuddha-widget";

/** Runs the real widget on this page (the console's own origin is allowed for every widget),
 * replacing one started before; returns the function that removes it again. */
export function previewLive(publicKey: string): () => void {
  const remove = () => {
    document.getElementById(PREVIEW_HOST)?.remove();
    document.querySelectorAll("script[data-widget]").forEach((s) => s.remove());
  };
  remove();
  const script = document.createElement("script");
  script.src = "/widget.js";
  script.async = true;
  script.dataset.widget = publicKey;
  document.body.append(script);
  return remove;
}
