// `npm run bench:hub`: one user's hub fanning 10,000 events out to 10 sockets, measured
// over the real local stack, first with nothing else running, then while uploads flow
// through the api and the processor (one local workerd runs everything on one thread).
//
// Events come from the dev-only /api/dev/publish-burst route; each carries its publish
// time (ms) as `version`, so every socket measures publish-to-receive latency.
import { createHash, randomBytes } from "node:crypto";
import { login, percentile, startStack } from "./lib/stack.mjs";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 10);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 50);
const PACED_EVENTS = Number(process.env.BENCH_PACED_EVENTS ?? 2000);

async function openSocket(url, token) {
  const res = await fetch(`${url}/api/events/ticket`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
  });
  const { ticket } = await res.json();
  const ws = new WebSocket(
    `${url.replace(/^http/, "ws")}/api/events?ticket=${encodeURIComponent(ticket)}`,
  );
  const s = { ws, latencies: [], received: 0, lastAt: 0 };
  await new Promise((resolve, reject) => {
    ws.addEventListener("message", (e) => {
      const f = JSON.parse(String(e.data));
      if (f.type === "hello") resolve();
      if (f.type === "asset" && f.status === "processing") {
        const now = Date.now();
        s.latencies.push(now - f.version);
        s.received += 1;
        s.lastAt = now;
      }
    });
    ws.addEventListener("error", reject);
  });
  return s;
}

async function burst(url, token, label, { count = EVENTS, chunk = CHUNK, intervalMs = 0 } = {}) {
  const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => openSocket(url, token)));
  const t0 = Date.now();
  const res = await fetch(`${url}/api/dev/publish-burst`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ count, chunk, intervalMs }),
  });
  if (!res.ok) throw new Error(`burst failed: ${res.status} ${await res.text()}`);
  const deadline = Date.now() + 120_000;
  while (sockets.some((s) => s.received < count) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const all = sockets.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const received = sockets.reduce((n, s) => n + s.received, 0);
  const elapsed = (Math.max(...sockets.map((s) => s.lastAt)) - t0) / 1000;
  for (const s of sockets) s.ws.close();
  return {
    label,
    delivered: `${received}/${count * SOCKETS}`,
    seconds: elapsed.toFixed(2),
    eventsPerSec: Math.round(count / elapsed),
    framesPerSec: Math.round(received / elapsed),
    p50: percentile(all, 50),
    p95: percentile(all, 95),
    p99: percentile(all, 99),
  };
}

/** Keeps uploads flowing (request URLs, PUT bytes; the processor takes each notification). */
function uploadLoad(url, token) {
  let stop = false;
  let files = 0;
  const run = async () => {
    while (!stop) {
      const batch = Array.from({ length: 50 }, () => {
        const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(20_000)]);
        return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
      });
      const res = await fetch(`${url}/api/uploads`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          files: batch.map((b, i) => ({
            clientId: String(i),
            name: `f${i}.jpg`,
            size: b.bytes.length,
            type: "image/jpeg",
            sha256: b.sha256,
          })),
        }),
      });
      if (!res.ok) break;
      const body = await res.json();
      await Promise.all(
        body.files.map(async (f, i) => {
          if (!f.upload) return;
          await fetch(f.upload.url, {
            method: "PUT",
            headers: f.upload.headers,
            body: batch[i].bytes,
          });
          files += 1;
        }),
      );
    }
  };
  const done = Promise.all([run(), run()]);
  return {
    stop: async () => {
      stop = true;
      await done;
      return files;
    },
  };
}

// Every burst reopens SOCKETS sockets of one user, more tickets and sockets than a person
// needs (the api's defaults: 20 tickets then 10 a minute, 10 sockets); raised for this run.
const stack = await startStack({
  sweepSeconds: 0,
  env: {
    DARKROOM_API_LIMITS: `TICKET_RATE_CAPACITY=${SOCKETS * 20},MAX_SOCKETS_PER_USER=${SOCKETS * 4}`,
  },
});
try {
  const token = await login(stack.url, `bench-hub-${randomBytes(4).toString("hex")}`);
  const loadToken = await login(stack.url, `bench-load-${randomBytes(4).toString("hex")}`);
  await burst(stack.url, token, "warm-up");
  // Paced like a busy drop: 2,000 photos make ~6,000 events in a few minutes (~35/s);
  // this is ~3x that, in chunks of 10 every 100 ms.
  const paced = { count: PACED_EVENTS, chunk: 10, intervalMs: 100 };
  const rows = [];
  rows.push(await burst(stack.url, token, "flood, idle"));
  rows.push(await burst(stack.url, token, "paced 100/s, idle", paced));
  const load = uploadLoad(stack.url, loadToken);
  await new Promise((r) => setTimeout(r, 2000));
  rows.push(await burst(stack.url, token, "flood, uploads running"));
  rows.push(await burst(stack.url, token, "paced 100/s, uploads running", paced));
  const uploaded = await load.stop();
  console.log(
    `\nhub fan-out to ${SOCKETS} sockets; flood = ${EVENTS} events in chunks of ${CHUNK}, latencies in ms`,
  );
  console.table(rows);
  console.log(
    `(background load: ${uploaded} files requested, PUT and taken by the processor during the last two runs)`,
  );
} finally {
  await stack.stop();
}
