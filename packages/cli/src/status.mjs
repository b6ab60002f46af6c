// Live three-stage progress from the WebSocket of GET /api/events (stats frames), with
// GET /api/stats as the starting point and as the fallback when the socket drops.

const ACTIVE = ["pending", "uploaded", "processing", "processed", "embedding"];

/** The three stages a person sees: bytes in, variants made, searchable. */
export function stages(s) {
  return {
    total: s.total,
    uploaded: s.total - s.pending,
    processed: s.processed + s.embedding + s.ready,
    ready: s.ready,
    failed: s.failed,
  };
}

export function settled(s) {
  return ACTIVE.every((k) => s[k] === 0);
}

export function bar(done, total, width = 24) {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(frac * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${String(done).padStart(String(total).length)}/${total}`;
}

export function formatStages(s) {
  const st = stages(s);
  return [
    `uploaded  ${bar(st.uploaded, st.total)}`,
    `processed ${bar(st.processed, st.total)}`,
    `ready     ${bar(st.ready, st.total)}${st.failed ? `  failed ${st.failed}` : ""}`,
  ].join("\n");
}

/**
 * Calls `onStats` with every stats frame of the batch (or the user) until the counts
 * settle (nothing pending or in flight) or `signal` aborts; reconnects on drops.
 * @param {{ client: ReturnType<typeof import("./api.mjs").createClient>, batchId?: string, follow?: boolean, signal?: AbortSignal, onStats: (s: object) => void }} opts
 */
export async function watchStats({ client, batchId, follow = false, signal, onStats }) {
  let last = await client.stats(batchId);
  onStats(last);
  if (!follow && settled(last)) return last;
  while (!signal?.aborted) {
    const done = await new Promise((resolve) => {
      let finished = false;
      const finish = (v) => {
        if (finished) return;
        finished = true;
        clearInterval(poll);
        signal?.removeEventListener("abort", onAbort);
        try {
          ws?.close();
        } catch {
          // already closed
        }
        resolve(v);
      };
      const onAbort = () => finish(true);
      signal?.addEventListener("abort", onAbort);
      const accept = (s) => {
        last = s;
        onStats(s);
        if (!follow && settled(s)) finish(true);
      };
      // Stats frames are coalesced and only sent on change; a slow poll covers a frame
      // lost between a reconnect and the first event.
      const poll = setInterval(() => {
        client.stats(batchId).then(accept, () => {});
      }, 5000);
      /** @type {WebSocket | undefined} */
      let ws;
      client.ticket().then(
        (ticket) => {
          if (finished) return;
          const q = new URLSearchParams({ ticket });
          if (batchId) q.set("batchId", batchId);
          ws = new WebSocket(`${client.base.replace(/^http/, "ws")}/api/events?${q}`);
          ws.addEventListener("message", (e) => {
            let f;
            try {
              f = JSON.parse(String(e.data));
            } catch {
              return;
            }
            if (f.type === "stats" && (batchId ? f.batchId === batchId : !f.batchId)) {
              accept(f.stats);
            }
          });
          ws.addEventListener("close", () => finish(false));
          ws.addEventListener("error", () => finish(false));
        },
        () => setTimeout(() => finish(false), 2000),
      );
    });
    if (done) break;
    await new Promise((r) => setTimeout(r, 1000));
    try {
      const s = await client.stats(batchId);
      last = s;
      onStats(s);
      if (!follow && settled(s)) break;
    } catch {
      // the stack is restarting: try again
    }
  }
  return last;
}
