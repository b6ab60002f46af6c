// What `npm run dev` and `npm run dev:prod` share: the environment wrangler runs in, the
// web build, the D1 migrations, and one `wrangler dev` process group with its health
// wait, its signals and the local sweeper. The log lines "wrangler dev started (process
// group N)" and "darkroom: ready on http://localhost:PORT" are read by
// scripts/lib/stack.mjs and the tests: keep them.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

export const root = fileURLToPath(new URL("../..", import.meta.url));

/** Same schedule as [triggers] in wrangler.toml, so `controller.cron` looks like production. */
const CRON = "*/2 * * * *";

export function log(message) {
  console.log(`darkroom: ${message}`);
}

export function fail(message) {
  console.error(`darkroom: ${message}`);
  process.exit(1);
}

/** The environment every wrangler of a stack runs in. */
export function wranglerEnv(stateDir, base = process.env) {
  return {
    ...base,
    // Offline-friendly: no Cloudflare metadata fetch, no telemetry.
    CLOUDFLARE_CF_FETCH_ENABLED: base.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
    WRANGLER_SEND_METRICS: base.WRANGLER_SEND_METRICS ?? "false",
    // The repo's wrangler (needs Node 22, a devDependency) and the `node` next to it, even
    // when this script was started with the system Node.
    PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${base.PATH ?? ""}`,
    // A private dev registry per state dir: all workers live in this one process, and a
    // second stack (a test next to a developer's `npm run dev`) must not see this one.
    WRANGLER_REGISTRY_PATH: base.WRANGLER_REGISTRY_PATH ?? path.join(stateDir, "wrangler-registry"),
  };
}

export function checkPort(port) {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`PORT is not a port: ${port}`);
}

export function assertPortFree(p, host) {
  // wrangler would otherwise move to another port, and a health check could answer
  // from whatever already listens here.
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err) => {
      fail(`port ${p} on ${host} is not free (${err.code}); set PORT to another one`);
    });
    server.listen(p, host, () => server.close(() => resolve()));
  });
}

export function run(cmd, args, env) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
    p.on("exit", (code) => resolve(code ?? 1));
    p.on("error", (err) => fail(`could not start ${cmd}: ${err.message}`));
  });
}

/** The web page is built output (gitignored): built so the stack serves the app. */
export async function buildWeb(env) {
  const web = await run(process.execPath, [path.join(root, "web", "build.mjs")], env);
  if (web !== 0) fail(`building the web app failed (exit ${web})`);
}

/**
 * The D1 migrations, into the same --persist-to as `wrangler dev`: the one migration set,
 * applied to every database the config binds (the directory and each shard; DESIGN.md,
 * "Sharding").
 */
export async function applyMigrations({ config, stateDir, env, wranglerEnvName }) {
  const parsed = parse(readFileSync(path.resolve(root, config), "utf8"));
  const section = wranglerEnvName ? parsed.env?.[wranglerEnvName] : parsed;
  const names = (section?.d1_databases ?? []).map((d) => d.database_name);
  if (names.length === 0) fail(`${config} binds no D1 database`);
  for (const name of names) {
    // Non-interactive (stdin ignored): wrangler then applies without asking for confirmation.
    const args = ["d1", "migrations", "apply", name, "--local", "--persist-to", stateDir];
    if (wranglerEnvName) args.push("--env", wranglerEnvName);
    const migrate = await run("wrangler", [...args, "-c", config], env);
    if (migrate !== 0) fail(`applying D1 migrations to ${name} failed (exit ${migrate})`);
  }
}

/**
 * Runs `wrangler <devArgs>` in its own process group until a signal or its exit, waits
 * for /api/health, then calls `onReady(base)` and triggers the sweeper every
 * `sweepSeconds` (0: never). `onStop` runs before the process exits.
 */
export async function runWranglerDev({
  devArgs,
  env,
  port,
  ip,
  sweepSeconds,
  stateDir,
  onReady,
  onStop,
}) {
  // Its own process group, so a signal reaches wrangler, esbuild and every workerd at once.
  // stdin is not a terminal: a background process group reading the terminal would be
  // stopped (SIGTTIN), and wrangler's hotkeys are not needed here.
  const child = spawn("wrangler", devArgs, {
    cwd: root,
    env,
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  log(`wrangler dev started (process group ${child.pid}), state in ${stateDir}`);

  let stopping = false;
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (stopping) {
        // A second Ctrl-C means now.
        killGroup("SIGKILL");
        return;
      }
      stopping = true;
      killGroup(signal);
      // workerd normally exits within a second; do not hang on one that does not.
      setTimeout(() => killGroup("SIGKILL"), 10_000).unref();
    });
  }

  let sweepTimer;
  child.on("exit", async (code, signal) => {
    clearInterval(sweepTimer);
    // Whatever wrangler left behind in its group goes with it.
    killGroup("SIGKILL");
    if (!stopping) log(`wrangler dev exited (${signal ?? `code ${code}`})`);
    await onStop?.();
    process.exit(code ?? (stopping ? 0 : 1));
  });
  child.on("error", (err) => fail(`could not start wrangler: ${err.message}`));

  // Probe the address wrangler listens on (loopback when it listens everywhere).
  const probeHost = ["0.0.0.0", "::", "localhost"].includes(ip)
    ? "127.0.0.1"
    : ip.includes(":")
      ? `[${ip}]`
      : ip;
  const base = `http://${probeHost}:${port}`;

  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null || stopping) return new Promise(() => {});
    try {
      const res = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
      // Up, but refusing to serve: a production-configured worker missing a setting
      // answers 503 naming it. Say so and keep running, so it can be seen.
      if (res.status === 503) {
        log(`the stack is up but misconfigured: ${await res.text()}`);
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      log("the stack did not answer /api/health within 180 s; stopping");
      stopping = true;
      killGroup("SIGTERM");
      return new Promise(() => {});
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await onReady?.(base, () => stopping);
  log(`ready on http://localhost:${port}`);

  // Local wrangler dev fires no cron triggers: call the scheduled handler through
  // miniflare's trigger route (what wrangler 4 suggests; no --test-scheduled needed, and
  // /cdn-cgi/handler/scheduled is an alias of it). It runs the entry worker, which is the
  // first config: the api, whose `scheduled` runs the sweeper.
  if (sweepSeconds > 0) {
    let running = false;
    let failing = false;
    const trigger = async () => {
      if (running || stopping) return;
      running = true;
      try {
        const url = `${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(CRON)}`;
        const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status} ${await res.text()}`);
        if (failing) log("sweeper trigger works again");
        failing = false;
      } catch (err) {
        // Say it once, not every interval.
        if (!failing && !stopping) log(`sweeper trigger failed: ${err.message}`);
        failing = true;
      } finally {
        running = false;
      }
    };
    sweepTimer = setInterval(trigger, sweepSeconds * 1000);
    // Right away too: after a restart, assets whose queue messages were lost come home.
    void trigger();
  }
}
