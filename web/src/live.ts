// The /api/events WebSocket: a fresh single-use ticket per connection, `resume` from the
// last seq after a reconnect, reconnect with backoff and jitter while the page wants it.
import { fullJitterMs } from "@darkroom/shared/client";
import {
  reconnectAfterSeconds,
  type ServerFrame,
  serverFrameSchema,
} from "@darkroom/shared/events";
import { api } from "./api";

/** Reconnects back off by the one rule (full jitter), from half a second to 15 s. */
export const LIVE_BACKOFF = { baseMs: 500, capMs: 15_000 };

/**
 * How long to wait before reconnecting after `failures` failed connections: the jittered
 * backoff, but never sooner than the hub asked (the `retryAfterSeconds` it closed the last
 * socket with, as the epoch ms `notBefore`).
 */
export function reconnectDelayMs(
  failures: number,
  notBefore: number,
  now: number,
  random: () => number = Math.random,
): number {
  return Math.max(fullJitterMs(failures, LIVE_BACKOFF, random), notBefore - now);
}

export type LiveOptions = {
  batchId: () => string | null;
  lastSeq: () => number;
  onFrames: (frames: ServerFrame[]) => void;
  onState: (connected: boolean) => void;
};

export class LiveEvents {
  private ws: WebSocket | null = null;
  private stopped = false;
  private failures = 0;
  /** The hub's last `retryAfterSeconds`, as the epoch ms before which it wants nothing. */
  private notBefore = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private buffer: ServerFrame[] = [];
  private flushing = false;
  private connectedBatch: string | null = null;

  constructor(private readonly o: LiveOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
    this.ws = null;
  }

  /** The batch changed (first POST of a drop): reconnect to get its stats frames. */
  ensureBatch(): void {
    if (this.o.batchId() !== this.connectedBatch && this.ws) this.ws.close();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let ticket: string;
    try {
      ticket = (await api.ticket()).ticket;
    } catch {
      return this.reconnectLater();
    }
    const batchId = this.o.batchId();
    const url = new URL("/api/events", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("ticket", ticket);
    if (batchId) url.searchParams.set("batchId", batchId);
    const ws = new WebSocket(url);
    this.ws = ws;
    this.connectedBatch = batchId;
    ws.onopen = () => {
      this.failures = 0;
      this.o.onState(true);
      const since = this.o.lastSeq();
      if (since > 0) ws.send(JSON.stringify({ type: "resume", since }));
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      let raw: unknown;
      try {
        raw = JSON.parse(e.data);
      } catch {
        return;
      }
      const parsed = serverFrameSchema.safeParse(raw);
      if (!parsed.success) return;
      this.buffer.push(parsed.data);
      // Frames arrive in bursts; hand them over once per frame, not one by one.
      if (!this.flushing) {
        this.flushing = true;
        requestAnimationFrame(() => {
          this.flushing = false;
          const frames = this.buffer;
          this.buffer = [];
          this.o.onFrames(frames);
        });
      }
    };
    ws.onclose = (e) => {
      // Closed for spending the frame budget: the reason says when the hub takes us back.
      const wait = reconnectAfterSeconds(e.reason);
      if (wait !== null) this.notBefore = Date.now() + wait * 1000;
      if (this.ws === ws) this.ws = null;
      this.o.onState(false);
      this.reconnectLater();
    };
  }

  private reconnectLater(): void {
    if (this.stopped || this.timer) return;
    this.failures += 1;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.connect();
      },
      reconnectDelayMs(this.failures, this.notBefore, Date.now()),
    );
  }
}
