// What ran inside the page's long tasks, from a Chromium trace taken over CDP (bench:page's
// BENCH_PAGE_TRACE): for each main-thread task over 50 ms, its biggest pieces (a script
// entry with its function and source position, an event dispatch, a GC, a layout), so a
// long task is attributed to code rather than guessed at.
import { writeFileSync } from "node:fs";

export const TRACE_CATEGORIES = [
  "toplevel",
  "devtools.timeline",
  "disabled-by-default-devtools.timeline",
  "v8",
  "disabled-by-default-v8.gc",
  "blink.user_timing",
];

/** Ends the trace, writes it to `file`, and prints what ran inside each task over 50 ms. */
export async function saveTrace(cdp, file) {
  const complete = new Promise((r) => cdp.once("Tracing.tracingComplete", r));
  await cdp.send("Tracing.end");
  const { stream } = await complete;
  const parts = [];
  for (;;) {
    const { data, eof, base64Encoded } = await cdp.send("IO.read", {
      handle: stream,
      size: 1 << 22,
    });
    parts.push(base64Encoded ? Buffer.from(data, "base64") : Buffer.from(data));
    if (eof) break;
  }
  await cdp.send("IO.close", { handle: stream });
  const raw = Buffer.concat(parts);
  writeFileSync(file, raw);
  console.error(`bench:page: trace in ${file} (${(raw.length / 1e6).toFixed(0)} MB)`);
  const parsed = JSON.parse(raw.toString("utf8"));
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  console.log(explainLongTasks(events).join("\n"));
}

/**
 * The renderer main thread's tasks over 50 ms, each with its longest pieces: a script
 * entry (FunctionCall, with function, file, line, column), an event dispatch, a GC, a
 * layout; the same pieces summed over all long tasks.
 */
function explainLongTasks(events) {
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
    out.push(`  ${(t.dur / 1000).toFixed(0)} ms: ${top.join("; ")}`);
  }
  const sum = [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(0)} ms`);
  out.push(`trace: summed over them (nested pieces count in each parent): ${sum.join("; ")}`);
  return out;
}
