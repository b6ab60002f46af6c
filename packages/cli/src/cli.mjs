// Argument handling and the commands of `darkroom`. `main` takes its streams and env as
// arguments so tests can drive it without a terminal.
import path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_RETRY_POLICY } from "@darkroom/shared/client";
import { createClient } from "./api.mjs";
import { formatStages, stages, watchStats } from "./status.mjs";
import { uploadDirectory } from "./upload.mjs";

export const USAGE = `Usage: darkroom <command> [options]

Commands:
  upload <dir>          upload every JPEG/PNG/WebP under <dir> (recursive, resumable)
  status [batchId]      live progress: uploaded / processed / ready
  retry-failed          requeue failed assets (--batch to limit to one batch)
  search <query>        search your photos

Options:
  --url <url>           API origin (env DARKROOM_URL)
  --token <jwt>         bearer token (env DARKROOM_TOKEN)
  --concurrency <n>     parallel PUTs for upload (default 4)
  --retries <n>         retries per request on network errors and 5xx (default ${DEFAULT_RETRY_POLICY.maxRetries})
  --manifest <file>     manifest path (default <dir>/.darkroom-manifest.jsonl)
  --batch <batchId>     batch for retry-failed
  --limit <n>           search results (default 20, at most 50)
  --follow              status: keep watching after everything settled
  --json                machine-readable output (the default when stdout is not a TTY)
  -h, --help            this help
`;

export class UsageError extends Error {}

const COMMANDS = ["upload", "status", "retry-failed", "search"];

function int(name, raw, min, max) {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return n;
}

/**
 * @param {string[]} argv the arguments after `darkroom`
 * @param {Record<string, string | undefined>} env
 */
export function parseCli(argv, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: "string" },
        token: { type: "string" },
        concurrency: { type: "string" },
        retries: { type: "string" },
        manifest: { type: "string" },
        batch: { type: "string" },
        limit: { type: "string" },
        follow: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals.length === 0) return { command: "help" };
  const [command, ...rest] = positionals;
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}"`);
  const url = v.url ?? env.DARKROOM_URL;
  const token = v.token ?? env.DARKROOM_TOKEN;
  if (!url) throw new UsageError("no API URL: pass --url or set DARKROOM_URL");
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be http(s)://…, not "${url}"`);
  if (!token) throw new UsageError("no token: pass --token or set DARKROOM_TOKEN");
  const common = {
    url,
    token,
    json: v.json ?? false,
    retries:
      v.retries === undefined ? DEFAULT_RETRY_POLICY.maxRetries : int("retries", v.retries, 0, 20),
  };
  if (command === "upload") {
    if (rest.length !== 1) throw new UsageError("upload takes one directory");
    return {
      command,
      ...common,
      dir: path.resolve(rest[0]),
      concurrency: v.concurrency === undefined ? 4 : int("concurrency", v.concurrency, 1, 64),
      manifest: v.manifest ? path.resolve(v.manifest) : undefined,
    };
  }
  if (command === "status") {
    if (rest.length > 1) throw new UsageError("status takes at most one batchId");
    return { command, ...common, batchId: rest[0], follow: v.follow ?? false };
  }
  if (command === "retry-failed") {
    if (rest.length > 0) throw new UsageError("retry-failed takes no arguments (use --batch)");
    return { command, ...common, batchId: v.batch };
  }
  if (rest.length === 0) throw new UsageError("search needs a query");
  return {
    command,
    ...common,
    query: rest.join(" "),
    limit: v.limit === undefined ? 20 : int("limit", v.limit, 1, 50),
  };
}

/**
 * @param {string[]} argv
 * @param {{ env: Record<string, string | undefined>, stdout: NodeJS.WritableStream & { isTTY?: boolean }, stderr: NodeJS.WritableStream & { isTTY?: boolean }, signal?: AbortSignal }} io
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, io) {
  const { stdout, stderr } = io;
  let opts;
  try {
    opts = parseCli(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    stderr.write(`darkroom: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.command === "help") {
    stdout.write(USAGE);
    return 0;
  }
  const json = opts.json || !stdout.isTTY;
  const client = createClient({
    url: opts.url,
    token: opts.token,
    retries: opts.retries,
    onRetry: ({ waitMs, reason }) => {
      if (!json) stderr.write(`\ndarkroom: ${reason}, retrying in ${Math.round(waitMs)} ms\n`);
    },
  });
  try {
    if (opts.command === "upload") {
      const tty = !json && stderr.isTTY;
      const r = await uploadDirectory({
        client,
        dir: opts.dir,
        concurrency: opts.concurrency,
        manifestPath: opts.manifest,
        signal: io.signal,
        onProgress: tty
          ? (p) =>
              stderr.write(
                `\r${barLine(p.done, p.total)} up ${p.uploaded} dup ${p.duplicates} skip ${p.skipped} fail ${p.failed}`,
              )
          : undefined,
      });
      if (tty) stderr.write("\n");
      const summary = {
        batchId: r.batchId,
        total: r.total,
        uploaded: r.uploaded,
        duplicates: r.duplicates,
        skipped: r.skipped,
        failed: r.failed,
        aborted: r.aborted,
        seconds: (r.endedAt - r.startedAt) / 1000,
      };
      if (json) stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        stdout.write(
          `batch ${r.batchId ?? "-"}: ${r.uploaded} uploaded, ${r.duplicates} duplicates, ${r.skipped} already done, ${r.failed.length} failed in ${summary.seconds.toFixed(1)} s\n`,
        );
        for (const f of r.failed) stdout.write(`  failed ${f.path}: ${f.code} ${f.message}\n`);
        if (r.aborted) stdout.write("stopped: run the same command again to upload the rest\n");
      }
      return r.aborted ? 130 : r.failed.length > 0 ? 1 : 0;
    }
    if (opts.command === "status") {
      let lines = 0;
      const last = await watchStats({
        client,
        batchId: opts.batchId,
        follow: opts.follow,
        signal: io.signal,
        onStats: (s) => {
          if (json) {
            stdout.write(`${JSON.stringify({ ...stages(s), stats: s })}\n`);
            return;
          }
          // Redraw the three lines in place.
          if (lines) stdout.write(`\x1b[${lines}A\x1b[J`);
          const text = formatStages(s);
          stdout.write(`${text}\n`);
          lines = text.split("\n").length;
        },
      });
      return last.failed > 0 ? 1 : 0;
    }
    if (opts.command === "retry-failed") {
      const r = await client.retryFailed(opts.batchId);
      stdout.write(
        json
          ? `${JSON.stringify(r)}\n`
          : `requeued ${r.requeued}, to re-upload ${r.reupload}, skipped ${r.skipped}${
              r.retryLimitReached
                ? `; ${r.retryLimitReached} past the retry limit (delete them to upload them anew)`
                : ""
            }\n`,
      );
      return 0;
    }
    const r = await client.search(opts.query, opts.limit);
    if (json) stdout.write(`${JSON.stringify(r)}\n`);
    else {
      stdout.write(`${r.results.length} results (${r.mode})\n`);
      for (const { asset, score } of r.results) {
        stdout.write(`${score.toFixed(3)}  ${asset.id}  ${asset.name}\n`);
      }
    }
    return 0;
  } catch (err) {
    const code = err?.code ?? "error";
    const message = err instanceof Error ? err.message : String(err);
    if (json) stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
    else stderr.write(`darkroom: ${message}\n`);
    return 1;
  }
}

function barLine(done, total, width = 30) {
  const frac = total > 0 ? done / total : 1;
  const full = Math.round(frac * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${done}/${total}`;
}
