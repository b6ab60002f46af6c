// Bench-only worker for `npm run bench:processor` (scripts/bench-processor.mjs): runs the
// processor's own `processImage` on the image in the request body and answers with
// timings and the pipeline's measured peak. Never deployed; see ./wrangler.toml.
//
//   POST /process?runs=N&budgetMb=M   body: image bytes
//     → { isolate, imagesSoFar, runs: [{ ms, peakBytes, ... }] } or { error }
//   GET /clock?spinMs=N  → whether the clock moves during pure compute (timer check)
//   GET /bounds          → the names of the bounds cases (./bounds-cases.ts)
//   GET /bounds?case=i   → case i generated, then processed (or decoded): its estimate,
//                          measured peak and time, or its refusal and the time to it
//
// Timing: in production workerd's clocks (Date.now and performance.now) only advance on
// I/O, so each run is bracketed by `await scheduler.wait(0)` (a real timer, hence I/O)
// before reading the clock. (Local workerd under wrangler dev was seen to advance during
// pure compute too; GET /clock shows which.) The Node side checks every run against its
// own wall clock.
import { JpegDecodeError } from "../src/codecs/jpeg-turbo";
import { ImageError } from "../src/image/errors";
import { DEFAULT_BUDGET, processImage } from "../src/image/pipeline";
import { boundsCases } from "./bounds-cases";

/**
 * Random per isolate (drawn on the first request: no random values at global scope): the
 * same value on every response proves one isolate did it all.
 */
let isolateId = "";
const isolate = () => {
  isolateId ||= crypto.randomUUID().slice(0, 8);
  return isolateId;
};
let imagesSoFar = 0;

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });

/** Reads the clock after a timer tick, so the value is current (see above). */
async function now(): Promise<number> {
  await scheduler.wait(0);
  return performance.now();
}

type Run = {
  ms: number;
  peakBytes: number;
  estimatedBytes: number;
  path: string;
  width: number;
  height: number;
  preview: string;
  thumb: string;
  previewBytes: number;
  thumbBytes: number;
};

async function processRuns(request: Request, url: URL): Promise<Response> {
  const runs = Math.max(1, Number(url.searchParams.get("runs") ?? 1));
  const budgetMb = Number(url.searchParams.get("budgetMb") ?? 0);
  const budget =
    budgetMb > 0 ? { ...DEFAULT_BUDGET, memoryBytes: budgetMb * 1024 * 1024 } : DEFAULT_BUDGET;
  const bytes = new Uint8Array(await request.arrayBuffer());
  const out: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = await now();
    try {
      const r = await processImage(bytes, { budget });
      const t1 = await now();
      imagesSoFar += 1;
      out.push({
        ms: t1 - t0,
        peakBytes: r.peakBytes,
        estimatedBytes: r.estimatedBytes,
        path: r.path,
        width: r.width,
        height: r.height,
        preview: `${r.preview.width}x${r.preview.height}`,
        thumb: `${r.thumb.width}x${r.thumb.height}`,
        previewBytes: r.preview.bytes.byteLength,
        thumbBytes: r.thumb.bytes.byteLength,
      });
    } catch (err) {
      if (err instanceof ImageError) {
        return json({
          isolate: isolate(),
          imagesSoFar,
          error: { code: err.code, message: err.message },
        });
      }
      throw err;
    }
  }
  return json({ isolate: isolate(), imagesSoFar, runs: out });
}

async function bounds(url: URL): Promise<Response> {
  const index = url.searchParams.get("case");
  if (index === null) return json({ cases: boundsCases.map((c) => `${c.kind}: ${c.name}`) });
  const c = boundsCases[Number(index)];
  if (!c) return json({ error: `no case ${index}` }, 404);
  const bytes = await c.build();
  const t0 = await now();
  try {
    if (c.run) {
      c.run(bytes);
      return json({ isolate: isolate(), bytes: bytes.byteLength, ms: (await now()) - t0 });
    }
    const r = await processImage(bytes);
    const ms = (await now()) - t0;
    return json({
      isolate: isolate(),
      bytes: bytes.byteLength,
      ms,
      size: `${r.width}x${r.height}`,
      estimatedBytes: r.estimatedBytes,
      peakBytes: r.peakBytes,
    });
  } catch (err) {
    const ms = (await now()) - t0;
    if (err instanceof ImageError || err instanceof JpegDecodeError) {
      return json({
        isolate: isolate(),
        bytes: bytes.byteLength,
        ms,
        refused: `${err.code}: ${err.message}`,
      });
    }
    throw err;
  }
}

/** How far the clock moves over ~spinMs of pure compute, with and without a timer tick. */
async function clock(url: URL): Promise<Response> {
  const spinMs = Number(url.searchParams.get("spinMs") ?? 200);
  const t0 = await now();
  // Busy work sized on the Node side's wall clock: no I/O inside.
  let x = 0;
  for (let i = 0; i < spinMs * 200_000; i++) x = (x + i * 31) % 1_000_003;
  const withoutIo = performance.now() - t0;
  const withIo = (await now()) - t0;
  return json({ isolate: isolate(), withoutIo, withIo, x });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/process") return processRuns(request, url);
    if (url.pathname === "/clock") return clock(url);
    if (url.pathname === "/bounds") return bounds(url);
    if (url.pathname === "/ping") return json({ isolate: isolate(), imagesSoFar });
    return json({ error: "POST /process, GET /clock, GET /ping" }, 404);
  },
};
