// Frames of the chat WebSocket (CONTRACT.md "WebSocket: chat"). The WebSocket is not in the
// OpenAPI document, so these are written down here from the contract.

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

export type ServerFrame =
  | { type: "ready"; session_id: string }
  | { type: "pong" }
  | { type: "error"; code: string; message: string }
  | { type: "execution.started"; execution_id: string; message_id: string | null }
  | { type: "delta"; execution_id: string; seq: number; text: string }
  | { type: "execution.completed"; execution_id: string; text: string; usage: TokenUsage }
  | { type: "execution.failed"; execution_id: string; error: { code: string; message: string } }
  | { type: "execution.cancelled"; execution_id: string }
  | { type: "execution.restarted"; execution_id: string; attempt: number; reason: string };

export type ClientFrame =
  | { type: "message"; content: string; client_id: string }
  | { type: "cancel"; execution_id: string }
  | { type: "resume"; execution_id: string; after_seq: number }
  | { type: "ping" };

/** Error codes in words a user understands. */
export function describeChatError(code: string, fallback?: string): string {
  const words: Record<string, string> = {
    rate_limited: "You are sending messages too quickly. Wait a moment, then try again.",
    too_many_requests: "You are sending messages too quickly. Wait a moment, then try again.",
    concurrency_limit: "Your workspace is already running as many replies as it may. Try again when one finishes.",
    out_of_credit: "Your workspace is out of credit. Ask your admin to add credit or a payment method.",
    insufficient_credit: "Your workspace is out of credit. Ask your admin to add credit or a payment method.",
    payment_required: "Your workspace is out of credit. Ask your admin to add credit or a payment method.",
    provider_error: "The AI provider is not answering right now. Try again in a minute.",
    provider_unavailable: "The AI provider is not answering right now. Try again in a minute.",
    provider_down: "The AI provider is not answering right now. Try again in a minute.",
    tenant_suspended: "This workspace is suspended. Contact your administrator.",
    busy: "The agent is still answering your previous message.",
    session_busy: "The agent is still answering your previous message.",
    agent_inactive: "This agent is switched off. Pick another agent.",
    timeout: "The reply took too long and was stopped. Try again.",
  };
  return words[code] ?? fallback ?? "Something went wrong with this reply. Try again.";
}
