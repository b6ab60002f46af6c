// Starts `npm run dev` (or `script`, e.g. scripts/dev-prod.mjs for `npm run dev:prod`) on
// a free port with its own state directory, for benchmarks, load and browser tests; or
// targets an already running stack when DARKROOM_URL is set.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/**
 * `stateDir` and `port` given: the state is kept on stop (a restart finds it again, on the
 * same origin, so issued upload URLs stay valid); `env` adds to the dev script's env.
 * `pid`: the dev script's process, the root of the stack's process tree (none with
 * DARKROOM_URL).
 * @returns {Promise<{ url: string, pid?: number, stop: () => Promise<void>, kill: () => Promise<void>, workerdPids: () => number[], output: () => string }>}
 */
export async function startStack({
  sweepSeconds = 30,
  quiet = true,
  stateDir: keptStateDir,
  port: fixedPort,
  env: extraEnv = {},
  script = "scripts/dev.mjs",
} = {}) {
  if (process.env.DARKROOM_URL) {
    return {
      url: process.env.DARKROOM_URL.replace(/\/$/, ""),
      stop: async () => {},
      kill: async () => {},
      workerdPids: () => [],
      output: () => "",
    };
  }
  const port = fixedPort ?? (await freePort());
  const stateDir = keptStateDir ?? mkdtempSync(path.join(tmpdir(), "darkroom-stack-"));
  const child = spawn(process.execPath, [path.join(root, script)], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      DARKROOM_STATE_DIR: stateDir,
      DARKROOM_SWEEP_SECONDS: String(sweepSeconds),
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  let group;
  const onData = (chunk) => {
    const text = chunk.toString();
    output += text;
    if (!quiet) process.stderr.write(text);
    const m = /wrangler dev started \(process group (\d+)\)/.exec(output);
    if (m) group = Number(m[1]);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((r) => child.once("exit", r));
  const deadline = Date.now() + 240_000;
  while (!output.includes("darkroom: ready on")) {
    if (child.exitCode !== null) throw new Error(`${script} exited:\n${output.slice(-3000)}`);
    if (Date.now() > deadline)
      throw new Error(`${script} never became ready:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = async () => {
    await stopProcessGroups([child.pid, group], exited, 15_000);
    if (!keptStateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  /** A crash: SIGKILL to everything at once, no graceful shutdown; the state stays. */
  const kill = async () => {
    for (const pid of [group, child.pid]) {
      try {
        if (pid) process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    // A restart reuses the port: wait until the killed processes are gone and the kernel
    // has let go of it (on a loaded machine SIGKILLed workerds take seconds to be reaped).
    const until = Date.now() + 30_000;
    while (Date.now() < until && (groupMembers(group).length > 0 || !(await portFree(port))))
      await new Promise((r) => setTimeout(r, 200));
  };
  /** The workerd processes of this stack (children of its wrangler process group). */
  const workerdPids = () =>
    group
      ? groupProcesses(group)
          .filter((p) => p.comm.startsWith("workerd"))
          .map((p) => p.pid)
      : [];
  return {
    url: `http://localhost:${port}`,
    pid: child.pid,
    stop,
    kill,
    workerdPids,
    output: () => output,
  };
}

/**
 * SIGTERM to each process group, then SIGKILL to what is left once `exited` settles or
 * `graceMs` passed: how a stack, or any wrangler started in its own group, is stopped.
 * @param {Array<number | undefined>} groups
 * @param {Promise<unknown>} exited
 * @param {number} graceMs
 */
export async function stopProcessGroups(groups, exited, graceMs) {
  for (const sig of ["SIGTERM", "SIGKILL"]) {
    for (const pid of groups) {
      try {
        if (pid) process.kill(-pid, sig);
      } catch {
        // gone
      }
    }
    if (sig === "SIGTERM") await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  }
}

/**
 * The processes of a process group (Linux /proc): pid, command name and arguments.
 * @param {number} group
 * @returns {Array<{ pid: number, comm: string, args: string[] }>}
 */
export function groupProcesses(group) {
  const out = [];
  for (const entry of readProcDir()) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== group) continue;
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      out.push({ pid: Number(entry), comm, args });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Processes still in a process group (Linux /proc). */
function groupMembers(group) {
  if (!group) return [];
  return readProcDir().filter((entry) => {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // A zombie (state Z) holds no port; its parent reaps it when it likes.
      return Number(fields[2]) === group && fields[0] !== "Z";
    } catch {
      return false;
    }
  });
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function readProcDir() {
  try {
    return readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
}

/** Resident set size in bytes of a process (Linux). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function login(url, user) {
  const res = await fetch(`${url}/api/dev/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user }),
  });
  if (!res.ok) throw new Error(`dev login failed: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
