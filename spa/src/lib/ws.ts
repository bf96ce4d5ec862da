// A WebSocket that authenticates with its first frame and reconnects with backoff.
// The owner decides what to send after each `ready` (e.g. `resume` frames).
import { getToken, refreshToken } from "@/lib/auth/session";

export type SocketStatus = "connecting" | "open" | "reconnecting" | "closed" | "refused";

/** Close codes after which reconnecting cannot help: forbidden (role, origin), not found. */
const FINAL_CODES = new Set([4403, 4404]);

export interface SocketOptions<F> {
  path: string;
  onFrame: (frame: F) => void;
  onStatus?: (status: SocketStatus) => void;
  /** Called after every successful authentication (first connect and each reconnect). */
  onReady?: (reconnected: boolean) => void;
  /** Frame type that means "authenticated"; sockets without one are ready on open. */
  readyType?: string;
}

export function backoff(attempt: number): number {
  return Math.min(10_000, 300 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}

export class AuthSocket<F extends { type: string }> {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private connectedOnce = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly opts: SocketOptions<F>;

  constructor(opts: SocketOptions<F>) {
    this.opts = opts;
    this.connect();
  }

  send(frame: object): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.opts.onStatus?.("closed");
  }

  private connect(): void {
    if (this.stopped) return;
    this.opts.onStatus?.(this.connectedOnce ? "reconnecting" : "connecting");
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}${this.opts.path}`);
    this.ws = ws;
    let ready = false;
    const markReady = () => {
      ready = true;
      const again = this.connectedOnce;
      this.connectedOnce = true;
      this.attempt = 0;
      this.opts.onStatus?.("open");
      this.opts.onReady?.(again);
    };
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: getToken() ?? "" }));
      if (!this.opts.readyType) markReady();
    };
    ws.onmessage = (ev) => {
      let frame: F;
      try {
        frame = JSON.parse(String(ev.data)) as F;
      } catch {
        return;
      }
      if (!ready && frame.type === this.opts.readyType) markReady();
      this.opts.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.stopped || this.ws !== ws) return;
      if (FINAL_CODES.has(ev.code)) {
        this.stopped = true;
        this.opts.onStatus?.("refused");
        return;
      }
      const retry = () => {
        this.timer = setTimeout(() => this.connect(), backoff(this.attempt++));
      };
      if (ev.code === 4401) void refreshToken().then((t) => (t ? retry() : this.opts.onStatus?.("closed")));
      else retry();
    };
  }
}
