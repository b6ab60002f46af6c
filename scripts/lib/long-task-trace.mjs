// What ran inside the page's long tasks, from a Chromium trace taken over CDP (bench:page's
// BENCH_PAGE_TRACE): for each main-thread task over 50 ms, its biggest pieces (a script
// entry with its function and source position, an event dispatch, a GC, a layout), so a
// long task is attributed to code rather than guessed at.
//
//   node scripts/lib/long-task-trace.mjs <trace.json>   # the same report on a saved trace
//   node scripts/lib/long-task-trace.mjs <trace.json> --totals  # the main thread's CPU by kind
//   node scripts/lib/long-task-trace.mjs <trace.json> --totals --until 6  # its first 6 s
import { closeSync, createReadStream, openSync, writeFileSync, writeSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const TRACE_CATEGORIES = [
  "toplevel",
  "devtools.timeline",
  "disabled-by-default-devtools.timeline",
  "v8",
  "disabled-by-default-v8.gc",
  "blink.user_timing",
];

/** Stops tracing; the trace waits in the browser as a stream until saveTrace reads it. */
export async function endTrace(cdp) {
  const complete = new Promise((r) => cdp.once("Tracing.tracingComplete", r));
  await cdp.send("Tracing.end");
  return complete;
}

/**
 * bench:page's recordings of the page, started together: a CPU profile of its first
 * `profileS` seconds (or up to stopProfile, if sooner) written to `profile`, and a trace
 * (of the first `traceS` seconds if given: a trace of minutes is hundreds of MB, and
 * saving it loads the machine the run measures); saveTrace(cdp, trace, traceEnded) ends it.
 */
export async function startRecording(cdp, { profile, profileS, trace, traceS }) {
  let stopProfile = async () => {};
  if (profile) {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 1000 });
    await cdp.send("Profiler.start");
    let stopped = false;
    stopProfile = async () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      const r = await cdp.send("Profiler.stop");
      writeFileSync(profile, JSON.stringify(r.profile));
      console.error(`bench:page: CPU profile in ${profile}`);
    };
    const timer = setTimeout(() => void stopProfile(), profileS * 1000);
  }
  let traceEnded;
  if (trace) {
    await cdp.send("Tracing.start", {
      transferMode: "ReturnAsStream",
      traceConfig: { includedCategories: TRACE_CATEGORIES },
    });
    if (traceS !== null) {
      traceEnded = new Promise((r) => setTimeout(r, traceS * 1000)).then(() => endTrace(cdp));
    }
  }
  return { stopProfile, traceEnded };
}

/**
 * Ends the trace (unless `ended` did it before, BENCH_PAGE_TRACE_S), writes it to `file` chunk by chunk (a run of minutes is hundreds of MB,
 * more than one string holds), and prints what ran inside each task over 50 ms.
 */
export async function saveTrace(cdp, file, ended = endTrace(cdp)) {
  const { stream } = await ended;
  const fd = openSync(file, "w");
  let bytes = 0;
  try {
    for (;;) {
      const { data, eof, base64Encoded } = await cdp.send("IO.read", {
        handle: stream,
        size: 1 << 22,
      });
      const buf = base64Encoded ? Buffer.from(data, "base64") : Buffer.from(data);
      writeSync(fd, buf);
      bytes += buf.length;
      if (eof) break;
    }
  } finally {
    closeSync(fd);
  }
  await cdp.send("IO.close", { handle: stream });
  console.error(`bench:page: trace in ${file} (${(bytes / 1e6).toFixed(0)} MB)`);
  console.log((await explainTraceFile(file)).join("\n"));
}

/** A trace file's events, one a line as Chromium writes them (lines that are not one skipped). */
async function* traceEvents(file) {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const raw of lines) {
    const line = raw.replace(/,$/, "");
    if (!line.startsWith('{"')) continue;
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      continue; // a partial last line of a trace cut short
    }
    yield e;
  }
}

/**
 * Reads a trace file one event a line (Chromium writes it so), keeping only what the
 * report needs: the renderer main threads' tasks over 50 ms and their pieces over 2 ms.
 */
export async function explainTraceFile(file) {
  const names = new Map();
  const kept = [];
  for await (const e of traceEvents(file)) {
    if (e.ph === "M") {
      if (e.name === "thread_name") names.set(`${e.pid}:${e.tid}`, e);
      continue;
    }
    if (names.get(`${e.pid}:${e.tid}`)?.args?.name !== "CrRendererMain") continue;
    if (e.name === "FunctionCall" || (e.ph === "X" && (e.dur ?? 0) >= 2_000)) kept.push(e);
  }
  return explainLongTasks([...names.values(), ...kept]);
}

/**
 * The renderer main thread's tasks over 50 ms, each with its longest pieces: a script
 * entry (FunctionCall, with function, file, line, column), an event dispatch, a GC, a
 * layout; the same pieces summed over all long tasks.
 */
export function explainLongTasks(events) {
  const main = events.find((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain");
  // The page's own renderer: the one whose main thread ran our script most.
  const mains = events.filter((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain");
  let best = main;
  let bestCount = -1;
  for (const m of mains) {
    const n = events.filter(
      (e) => e.pid === m.pid && e.tid === m.tid && e.name === "FunctionCall",
    ).length;
    if (n > bestCount) {
      best = m;
      bestCount = n;
    }
  }
  if (!best) return ["trace: no renderer main thread"];
  const mine = events
    .filter((e) => e.pid === best.pid && e.tid === best.tid && e.ph === "X")
    .sort((a, b) => a.ts - b.ts);
  const long = mine.filter((e) => e.name === "RunTask" && e.dur > 50_000);
  const first = mine[0]?.ts ?? 0;
  const label = (e) => {
    const d = e.args?.data ?? {};
    if (e.name === "FunctionCall") {
      return `FunctionCall ${d.functionName || "(anon)"} ${String(d.url ?? "")
        .split("/")
        .pop()}:${d.lineNumber}:${d.columnNumber}`;
    }
    if (e.name === "EventDispatch") return `EventDispatch ${d.type}`;
    if (e.name === "TimerFire") return "TimerFire";
    return e.name;
  };
  const totals = new Map();
  const out = [`trace: ${long.length} tasks over 50 ms on the page's main thread`];
  for (const t of long) {
    const inside = mine.filter(
      (e) => e !== t && e.ts >= t.ts && e.ts + (e.dur ?? 0) <= t.ts + t.dur && e.dur >= 2_000,
    );
    const by = new Map();
    for (const e of inside) by.set(label(e), (by.get(label(e)) ?? 0) + e.dur);
    for (const [k, v] of by) totals.set(k, (totals.get(k) ?? 0) + v);
    const top = [...by]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(0)} ms`);
    // The thread's own CPU time in the task: far below its duration, the thread waited
    // for a core (a loaded machine), not for our code.
    const cpu = t.tdur === undefined ? "" : ` (${(t.tdur / 1000).toFixed(0)} ms on the CPU)`;
    out.push(
      `  ${(t.dur / 1000).toFixed(0)} ms${cpu} at ${((t.ts - first) / 1e6).toFixed(1)} s: ${top.join("; ")}`,
    );
  }
  const sum = [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(0)} ms`);
  out.push(`trace: summed over them (nested pieces count in each parent): ${sum.join("; ")}`);
  return out;
}

/**
 * Where the page's main thread spent its CPU over a whole trace, not only in long tasks:
 * its tasks (count, CPU, a histogram of their CPU) and the CPU and wall time of each kind
 * of piece (renders, script entries, messages, GC), summed (nested pieces count in each
 * parent). The page's thread is the renderer main thread that ran the most script.
 */
export async function mainThreadTotals(file, top = 30, untilS = Number.POSITIVE_INFINITY) {
  const threads = new Map();
  const names = new Map();
  for await (const e of traceEvents(file)) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph === "M") {
      if (e.name === "thread_name") names.set(key, e.args?.name);
      continue;
    }
    if (e.ph !== "X" || names.get(key) !== "CrRendererMain") continue;
    let t = threads.get(key);
    if (!t) {
      t = {
        by: new Map(),
        first: e.ts,
        last: e.ts,
        calls: 0,
        tasks: 0,
        cpu: 0,
        hist: [0, 0, 0, 0, 0, 0],
      };
      threads.set(key, t);
    }
    // Only the trace's first `untilS` seconds (--until S: the drop's first seconds).
    if (e.ts - t.first > untilS * 1e6) continue;
    t.last = Math.max(t.last, e.ts);
    const d = e.args?.data ?? {};
    let k = e.name;
    if (k === "FunctionCall") {
      t.calls += 1;
      k += ` ${d.functionName || "(anon)"} ${String(d.url ?? "")
        .split("/")
        .pop()}:${d.lineNumber}:${d.columnNumber}`;
    } else if (k === "EventDispatch") k += ` ${d.type}`;
    const v = t.by.get(k) ?? { n: 0, wall: 0, cpu: 0 };
    v.n += 1;
    v.wall += e.dur ?? 0;
    v.cpu += e.tdur ?? 0;
    t.by.set(k, v);
    if (e.name === "RunTask") {
      const ms = (e.tdur ?? 0) / 1000;
      t.tasks += 1;
      t.cpu += ms;
      t.hist[ms < 1 ? 0 : ms < 4 ? 1 : ms < 10 ? 2 : ms < 20 ? 3 : ms < 50 ? 4 : 5] += 1;
    }
  }
  const page = [...threads.values()].sort((a, b) => b.calls - a.calls)[0];
  if (!page) return ["trace: no renderer main thread"];
  const secs = (page.last - page.first) / 1e6;
  const out = [
    `trace: the page's main thread over ${secs.toFixed(0)} s: ${page.tasks} tasks, ${(page.cpu / 1000).toFixed(1)} s of CPU (${(page.cpu / 10 / secs) | 0} %); tasks by CPU (<1, 1-4, 4-10, 10-20, 20-50, 50+ ms): ${page.hist.join(", ")}`,
  ];
  for (const [k, v] of [...page.by].sort((a, b) => b[1].cpu - a[1].cpu).slice(0, top)) {
    out.push(
      `  ${(v.cpu / 1000).toFixed(0)} ms CPU, ${(v.wall / 1000).toFixed(0)} ms wall, ${v.n}x: ${k}`,
    );
  }
  return out;
}

//   node scripts/lib/long-task-trace.mjs <trace.json> [--totals [--until S]]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const until = process.argv.indexOf("--until");
  const report = process.argv.includes("--totals")
    ? mainThreadTotals(process.argv[2], 30, until > 0 ? Number(process.argv[until + 1]) : undefined)
    : explainTraceFile(process.argv[2]);
  console.log((await report).join("\n"));
}
