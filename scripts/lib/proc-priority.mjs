// Processes seen from /proc (Linux) and their CPU priority: what bench:page uses to find
// the browser's and the local stack's processes and to set who gets the machine's cores
// first (BENCH_PAGE_NICE for the browser, BENCH_PAGE_STACK_NICE for the stack).
//
// Two levels decide it. Linux's autogroup scheduling
// (/proc/sys/kernel/sched_autogroup_enabled) shares the CPU between sessions first, and a
// thread's nice value only ranks it within its session's group; Playwright starts the
// browser in a session of its own, and the stack's `npm run dev` and its `wrangler dev`
// are each started in one (detached). So both are set: the group's nice
// (/proc/<pid>/autogroup) and every thread's (a nice value is per thread on Linux, and a
// thread inherits it from the thread that creates it).
// https://man7.org/linux/man-pages/man7/sched.7.html ("The autogroup feature")
// https://man7.org/linux/man-pages/man2/setpriority.2.html (NOTES: per thread)
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/** Every process: pid, command line, parent, RSS. */
export function readProcs() {
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
  return procs;
}

/** The processes among `procs` that are `root` or descend from it. */
export function treeOf(procs, root) {
  const under = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 10; hops++) {
      if (p === root) return true;
      p = procs.get(p)?.ppid ?? 0;
    }
    return false;
  };
  return [...procs.values()].filter((p) => under(p.pid));
}

/**
 * Sets `nice` on every thread of `procs` (`threads: "all"`), on each process's main
 * thread only (`"main"`) or on none, and on their session groups if `autogroup`.
 */
export function setNice(procs, nice, { autogroup = true, threads = "all" } = {}) {
  for (const p of procs) {
    try {
      if (autogroup) writeFileSync(`/proc/${p.pid}/autogroup`, String(nice));
      const tids =
        threads === "all"
          ? readdirSync(`/proc/${p.pid}/task`).map(Number)
          : threads === "main"
            ? [p.pid]
            : [];
      for (const tid of tids) if (getPriority(tid) !== nice) setPriority(tid, nice);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * BENCH_PAGE_STACK_NICE: the local stack (`npm run dev`: wrangler, workerd, the local S3
 * and issuer) and this harness at a low priority. On a person's machine the server is
 * not on their CPU; here it is, and every PUT the page makes is answered by it, so
 * without this the bench measures the page competing with its own server.
 */
export function niceStack(stackPid, nice) {
  setNice(treeOf(readProcs(), stackPid), nice);
}

/**
 * This harness's threads (its polls of the page, its /proc readings) at `nice`, but not
 * its session's group: that is the terminal the bench was started from. Called once the
 * browser is started: a process inherits its parent's nice value.
 */
export function niceHarness(nice) {
  setNice([{ pid: process.pid }], nice, { autogroup: false });
}
