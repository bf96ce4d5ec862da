// Frames of the chat WebSocket (docs/contract.md "WebSocket: chat"). The WebSocket is not in
// the OpenAPI document, so these are written down here from the contract.

import type { ErrorCode } from "@/lib/errorCodes";

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

/** A document chunk a reply drew on (docs/knowledge.md). */
export interface Citation {
  document_id: string;
  filename: string;
  chunk_index: number;
}

export type ServerFrame =
  | { type: "ready"; session_id: string }
  | { type: "pong" }
  | { type: "error"; code: string; message: string }
  | { type: "execution.queued"; execution_id: string; message_id: string | null; position: number }
  | { type: "execution.started"; execution_id: string; message_id: string | null }
  | { type: "delta"; execution_id: string; seq: number; text: string }
  | { type: "tool.call"; execution_id: string; name: string; arguments: Record<string, unknown> }
  | { type: "tool.result"; execution_id: string; name: string; summary: string }
  | { type: "execution.completed"; execution_id: string; text: string; usage: TokenUsage; citations?: Citation[]; output?: unknown }
  | { type: "execution.failed"; execution_id: string; error: { code: string; message: string } }
  | { type: "execution.cancelled"; execution_id: string }
  | { type: "execution.restarted"; execution_id: string; attempt: number; reason: string }
  // A workflow's nodes (a session opened on a workflow, docs/workflows.md "Chat").
  | { type: "node.started"; execution_id: string; node_id: string; attempt: number }
  | { type: "node.delta"; execution_id: string; node_id: string; seq: number; text: string }
  | { type: "node.completed"; execution_id: string; node_id: string; output: unknown; branch: string | null }
  | { type: "node.failed"; execution_id: string; node_id: string; error: { code: string; message: string }; handled: boolean }
  | { type: "node.skipped"; execution_id: string; node_id: string }
  | { type: "node.waiting"; execution_id: string; node_id: string; prompt: string; timeout_s: number }
  // A person in the conversation (docs/human-in-the-loop.md).
  | { type: "human.joined"; session_id: string; user_id: string; name: string }
  | { type: "human.left"; session_id: string; user_id: string; name: string }
  | { type: "message"; session_id: string; message_id: string; author: "user" | "human"; name: string | null; content: string; client_id: string | null; created_at: string }
  | { type: "session.escalated"; session_id: string; reason: string }
  // Co-pilot drafts: only the person holding the session gets these.
  | { type: "draft.started"; draft_id: string }
  | { type: "draft.delta"; draft_id: string; seq: number; text: string }
  | { type: "draft.completed"; draft_id: string; text: string }
  | { type: "draft.failed"; draft_id: string; error: { code: string; message: string } };

export type ClientFrame =
  | { type: "message"; content: string; client_id: string }
  | { type: "cancel"; execution_id: string }
  | { type: "resume"; execution_id: string; after_seq: number }
  | { type: "ping" }
  | { type: "draft" };

const BUSY = "Your workspace is already running as many replies as it may. Wait a moment, then try again.";
const CREDIT = "Your workspace is out of prepaid credit. Ask your workspace admin to top it up.";
const PROVIDER_DOWN = "The AI provider is not answering right now. Try again in a minute.";
const RETRY = "This reply could not be finished. Try sending it again.";

/** Error codes (runtime/errors.py, generated into lib/errorCodes.ts) in words a user understands. */
const WORDS: Partial<Record<ErrorCode, string>> = {
  // Refused before anything ran (error frames answering a message).
  rate_limited: BUSY,
  request_quota_exceeded: "Your workspace has used all the requests its plan allows this hour. Try again later or ask your admin about the plan.",
  queue_wait_exceeded: "Your workspace stayed busy for too long, so this message was not answered. Send it again in a moment.",
  insufficient_credit: CREDIT,
  tenant_cap_reached: "Your workspace has reached its monthly spending limit. Ask your workspace admin to raise it.",
  user_cap_reached: "You have reached your personal monthly spending limit. Ask your workspace admin to raise it.",
  session_busy: "The agent is still answering your previous message. Wait for it to finish, or stop it first.",
  tenant_inactive: "This workspace is not active. Contact your administrator.",
  tenant_suspended: "Your workspace is suspended for an unpaid invoice, so agents do not answer. A workspace admin restores it at once by paying in Billing.",
  not_found: "This agent or conversation no longer exists. Pick another agent.",
  session_held: "Someone else from support is answering this conversation.",
  invalid_input: "This workflow needs other input.",
  not_holder: "Take the conversation over first.",
  // The reply failed (execution.failed).
  provider_unavailable: PROVIDER_DOWN,
  provider_error: PROVIDER_DOWN,
  provider_timeout: PROVIDER_DOWN,
  provider_stream_broken: "The connection to the AI provider broke mid-reply. Try again.",
  provider_rate_limited: "The AI provider is overloaded right now. Try again in a minute.",
  provider_rejected: "The AI provider refused this request. Check the agent's model and settings.",
  unknown_provider: "This agent uses a provider the platform does not know. Ask your admin to fix the agent.",
  unsupported: "This agent's settings are not supported by its provider. Ask your admin to fix the agent.",
  invalid_output: "The reply did not match the agent's output format. Try again.",
  agent_unavailable: "This agent no longer exists. Pick another agent.",
  too_many_attempts: RETRY,
  actor_lost: RETRY,
  not_started: RETRY,
  broker_unavailable: RETRY,
  failed: RETRY,
  internal_error: "Something went wrong on our side. Try again.",
};

/** Error codes that refuse a message before it runs: the message was not sent. */
export const REFUSALS = new Set<string>([
  "rate_limited", "request_quota_exceeded", "insufficient_credit", "tenant_cap_reached", "user_cap_reached", "session_busy", "tenant_inactive",
  "tenant_suspended",
  "not_found", "internal_error", "session_held", "invalid_input",
] satisfies ErrorCode[]);

/** `message`: the server's own words, used where they say more than ours (a workflow's input). */
export function describeChatError(code: string, message?: string): string {
  if (code === "invalid_input" && message) return message;
  return WORDS[code as ErrorCode] ?? "Something went wrong with this reply. Try again.";
}
