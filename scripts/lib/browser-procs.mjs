// The browser bench:page runs, seen from /proc: its processes (found by the profile dir on
// their command line), the renderers' memory, each thread's CPU time (what competes with
// the page's main thread for the machine's cores), and BENCH_PAGE_NICE's renice.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/** The browser's processes (run with our profile, and their descendants), from /proc. */
function browserProcs(profileDir) {
  const procs = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      procs.set(Number(d), { pid: Number(d), cmd, ppid, rssKb });
    } catch {
      // gone meanwhile
    }
  }
  const browser = [...procs.values()].find(
    (p) => p.cmd.includes(profileDir) && !p.cmd.includes("--type="),
  )?.pid;
  if (!browser) return [];
  const under = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 10; hops++) {
      if (p === browser) return true;
      p = procs.get(p)?.ppid ?? 0;
    }
    return false;
  };
  return [...procs.values()].filter((p) => under(p.pid));
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
 * shows it: tasks of 50-300 ms that held the CPU for 2-35 ms). Playwright starts the
 * browser in a session of its own, and with Linux's autogroup scheduling
 * (/proc/sys/kernel/sched_autogroup_enabled) the CPU is shared between sessions first:
 * a thread's nice value only ranks it within its session. So the browser's session gets
 * this nice value (/proc/<pid>/autogroup), and within it the renderers' main threads too
 * (the page's main thread ahead of its own hash workers).
 * https://man7.org/linux/man-pages/man7/sched.7.html ("The autogroup feature")
 */
export function reniceBrowser(profileDir, nice) {
  for (const p of browserProcs(profileDir)) {
    try {
      if (!p.cmd.includes("--type=")) writeFileSync(`/proc/${p.pid}/autogroup`, String(nice));
      if (p.cmd.includes("--type=renderer") && getPriority(p.pid) !== nice) {
        setPriority(p.pid, nice);
      }
    } catch {
      // gone meanwhile
    }
  }
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
