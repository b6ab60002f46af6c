// The browser bench:page runs, seen from /proc: its processes (found by the profile dir on
// their command line), the renderers' memory, each thread's CPU time (what competes with
// the page's main thread for the machine's cores), and BENCH_PAGE_NICE's renice.
import { readdirSync, readFileSync } from "node:fs";
import { readProcs, setNice, treeOf } from "./proc-priority.mjs";

/** The browser's processes (run with our profile, and their descendants), from /proc. */
function browserProcs(profileDir) {
  const procs = readProcs();
  const browser = [...procs.values()].find(
    (p) => p.cmd.includes(profileDir) && !p.cmd.includes("--type="),
  )?.pid;
  return browser ? treeOf(procs, browser) : [];
}

/** The RSS of each renderer process (the page's, its workers' threads included). */
export function rendererRss(profileDir) {
  return browserProcs(profileDir)
    .filter((p) => p.cmd.includes("--type=renderer"))
    .map((p) => p.rssKb * 1024);
}

/**
 * BENCH_PAGE_NICE: the browser as the foreground app of a shared machine. On a machine
 * shared with other jobs the page's main thread waits for a core in the middle of its
 * tasks, which the long-task observer counts as the task's own time (BENCH_PAGE_TRACE
 * shows it: tasks of 50-300 ms that held the CPU for 2-35 ms). The browser's session
 * group gets this nice value, and within it the renderers' main threads too (the page's
 * main thread ahead of its own hash workers); see proc-priority.mjs for the two levels.
 */
export function reniceBrowser(profileDir, nice) {
  const procs = browserProcs(profileDir);
  setNice(
    procs.filter((p) => !p.cmd.includes("--type=")),
    nice,
    { threads: "none" },
  );
  setNice(
    procs.filter((p) => p.cmd.includes("--type=renderer")),
    nice,
    { autogroup: false, threads: "main" },
  );
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on Linux). */
const TICKS = 100;

/**
 * Every thread of the browser's processes with its CPU time so far (ms): `key` is
 * pid/tid, `name` the process type and the thread's name (`renderer/DedicatedWorker
 * thread`). Two readings subtracted give who used the CPU over a run.
 */
export function browserThreadCpu(profileDir) {
  const out = new Map();
  for (const p of browserProcs(profileDir)) {
    const type = /--type=([\w-]+)/.exec(p.cmd)?.[1] ?? "browser";
    const sub = /--utility-sub-type=[\w.]*\.(\w+)/.exec(p.cmd)?.[1];
    let tids = [];
    try {
      tids = readdirSync(`/proc/${p.pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const comm = readFileSync(`/proc/${p.pid}/task/${tid}/comm`, "utf8").trim();
        const stat = readFileSync(`/proc/${p.pid}/task/${tid}/stat`, "utf8");
        // Fields after the ")" that closes the name: utime and stime are the 12th and 13th.
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const ms = ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
        out.set(`${p.pid}/${tid}`, { name: `${sub ?? type}/${comm}`, ms });
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

/** The threads that used most CPU between two readings, as "name: s (share of one core)". */
export function topThreads(before, after, seconds, n = 8) {
  const used = [];
  for (const [k, a] of after) used.push({ name: a.name, ms: a.ms - (before.get(k)?.ms ?? 0) });
  const total = used.reduce((s, u) => s + u.ms, 0);
  const top = used
    .sort((x, y) => y.ms - x.ms)
    .slice(0, n)
    .map((u) => `${u.name} ${(u.ms / 1000).toFixed(1)} s (${(u.ms / 10 / seconds) | 0} %)`);
  return { total: total / 1000, top };
}
