import { type ServerFrame, serverFrameSchema } from "@darkroom/shared";
import { expect } from "vitest";
import { call } from "./helpers";

export type Client = {
  ws: WebSocket;
  frames: ServerFrame[];
  /** Resolves with the first frame (from `from` on) that matches. */
  waitFor(
    pred: (f: ServerFrame) => boolean,
    from?: number,
    timeoutMs?: number,
  ): Promise<ServerFrame>;
  /** Resolves once `n` frames have arrived in all. */
  count(n: number, timeoutMs?: number): Promise<ServerFrame[]>;
};

export async function ticketFor(token: string): Promise<string> {
  const res = await call("/api/events/ticket", { method: "POST", token });
  expect(res.status).toBe(200);
  const body: { ticket: string } = await res.json();
  return body.ticket;
}

export async function connect(token: string, batchId?: string): Promise<Client> {
  const ticket = await ticketFor(token);
  const res = await call(
    `/api/events?ticket=${encodeURIComponent(ticket)}${batchId ? `&batchId=${batchId}` : ""}`,
    {
      headers: { Upgrade: "websocket" },
    },
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (!ws) throw new Error("no socket");
  ws.accept();
  const frames: ServerFrame[] = [];
  const listeners = new Set<() => void>();
  ws.addEventListener("message", (e) => {
    // Every frame the server sends must match the shared schema.
    frames.push(serverFrameSchema.parse(JSON.parse(String(e.data))));
    for (const l of listeners) l();
  });
  const until = <T>(check: () => T | undefined, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const tick = () => {
        const v = check();
        if (v !== undefined) {
          listeners.delete(tick);
          clearTimeout(timer);
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(tick);
        reject(new Error(`timed out; frames: ${JSON.stringify(frames).slice(0, 500)}`));
      }, timeoutMs);
      listeners.add(tick);
      tick();
    });
  return {
    ws,
    frames,
    waitFor: (pred, from = 0, timeoutMs = 5000) =>
      until(() => frames.slice(from).find(pred), timeoutMs),
    count: (n, timeoutMs = 5000) =>
      until(() => (frames.length >= n ? frames.slice(0, n) : undefined), timeoutMs),
  };
}
