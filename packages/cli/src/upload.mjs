// `darkroom upload <dir>`: hash, ask POST /api/uploads for tickets (100 files at most per
// request), PUT the bytes with bounded concurrency, and note every finished file in the
// manifest so a re-run only does what is missing.
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  classifyPutAnswer,
  classifyUploadedAsset,
  clientIdFor,
  freshTries,
  nextStep,
} from "@darkroom/shared/client";
import { scan, sha256File } from "./files.mjs";
import { MANIFEST_NAME, Manifest } from "./manifest.mjs";

/**
 * @param {{
 *   client: ReturnType<typeof import("./api.mjs").createClient>,
 *   dir: string,
 *   concurrency?: number,
 *   chunkSize?: number,
 *   manifestPath?: string,
 *   signal?: AbortSignal,
 *   onProgress?: (p: { total: number, done: number, uploaded: number, duplicates: number, failed: number, skipped: number }) => void,
 * }} opts
 */
export async function uploadDirectory(opts) {
  const { client, dir, concurrency = 4, chunkSize = 50, signal, onProgress } = opts;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 100) {
    throw new Error("chunkSize must be 1..100 (the API takes at most 100 files per request)");
  }
  const manifest = new Manifest(opts.manifestPath ?? path.join(dir, MANIFEST_NAME));
  const all = await scan(dir);
  const result = {
    batchId: manifest.batchId ?? null,
    total: all.length,
    skipped: 0,
    uploaded: 0,
    duplicates: 0,
    /** @type {Array<{ path: string, code: string, message: string }>} */
    failed: [],
    /** @type {number[]} */
    postMs: [],
    /** @type {number[]} time of each answered POST inside the worker (Server-Timing) */
    postServerMs: [],
    /** @type {number[]} */
    putMs: [],
    /** bytes of the PUTs the server took */
    bytes: 0,
    aborted: false,
    startedAt: Date.now(),
    endedAt: 0,
  };
  const progress = () =>
    onProgress?.({
      total: result.total,
      done: result.skipped + result.uploaded + result.duplicates + result.failed.length,
      uploaded: result.uploaded,
      duplicates: result.duplicates,
      failed: result.failed.length,
      skipped: result.skipped,
    });

  const todo = all.filter((f) => {
    if (!manifest.isDone(f.path, f.size, f.mtimeMs)) return true;
    result.skipped += 1;
    return false;
  });
  progress();

  // PUT pool: at most `concurrency` at once; tickets wait in `queue`.
  /** @type {Array<() => Promise<void>>} */
  const queue = [];
  let running = 0;
  /** @type {Array<() => void>} */
  let waiters = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const pump = () => {
    while (running < concurrency && queue.length > 0 && !signal?.aborted) {
      const task = queue.shift();
      running += 1;
      task?.().finally(() => {
        running -= 1;
        pump();
        wake();
      });
    }
    if (signal?.aborted) queue.length = 0;
  };
  const until = async (cond) => {
    while (!cond()) await new Promise((r) => waiters.push(r));
  };

  const fail = (f, code, message) => {
    result.failed.push({ path: f.path, code, message });
    progress();
  };

  /**
   * One file's PUT under the shared classification (@darkroom/shared/client): 2xx done;
   * 412 (R2's PreconditionFailed, the local route's already_uploaded) → ask the API
   * whether the asset is uploaded; expired URL or refused signature → a fresh URL by
   * re-POSTing the file (a pending asset keeps its id) and PUT again; network errors, 5xx
   * and 429 → the same again after a backoff. Every loop spends a bounded budget.
   */
  const putOne = async (f, sha256, assetId, firstTicket) => {
    const bytes = await readFile(f.abs);
    const tries = freshTries();
    let ticket = firstTicket;
    /** @type {"put" | "verify"} */
    let mode = "put";
    for (;;) {
      const verdict = mode === "put" ? await attemptPut(ticket, bytes) : await verify(assetId);
      const step = nextStep(verdict, tries, { policy: client.policy });
      if (step.action === "done") {
        result.bytes += bytes.byteLength;
        manifest.record({ ...pick(f), sha256, assetId, status: "uploaded" });
        result.uploaded += 1;
        progress();
        return;
      }
      if (step.action === "fail") return fail(f, step.code, step.reason);
      if (step.action === "verify") mode = "verify";
      else if (step.action === "renew") {
        const fresh = await renew(f, sha256);
        if ("error" in fresh) return fail(f, fresh.error.code, fresh.error.message);
        // Not pending any more: the asset holds its original (ours, an earlier attempt's).
        if (!fresh.ticket) {
          if (fresh.assetId === assetId) mode = "verify";
          else return markDuplicate(f, sha256, fresh.assetId);
        } else {
          ticket = fresh.ticket;
          mode = "put";
        }
      } else {
        client.onRetry?.({ attempt: tries.retries + tries.throttles, ...step });
        await sleep(step.waitMs);
      }
    }
  };

  const attemptPut = async (ticket, bytes) => {
    try {
      const { res, ms } = await client.put(ticket, bytes);
      result.putMs.push(ms);
      const body = res.ok ? "" : await res.text();
      if (res.ok) await res.body?.cancel();
      return classifyPutAnswer({
        status: res.status,
        body,
        retryAfter: res.headers.get("retry-after"),
      });
    } catch (err) {
      return classifyPutAnswer({
        status: 0,
        networkError: err instanceof Error ? err.message : String(err),
      });
    }
  };

  const verify = async (assetId) => {
    try {
      const { answer, asset } = await client.assetAnswer(assetId);
      return classifyUploadedAsset(answer, asset);
    } catch (err) {
      return classifyUploadedAsset(
        { status: 0, networkError: err instanceof Error ? err.message : String(err) },
        null,
      );
    }
  };

  /** A fresh URL for a pending asset: the same POST /api/uploads, the same file. */
  const renew = async (f, sha256) => {
    try {
      const { body: answer } = await client.createUploads(requestFor([{ f, sha256 }]));
      const item = answer.files[0];
      if (!item) return { error: { code: "bad_answer", message: "no file in the answer" } };
      return { assetId: item.assetId, ticket: item.status === "upload" ? item.upload : null };
    } catch (err) {
      return {
        error: {
          code: err?.code ?? "network_error",
          message: err instanceof Error ? err.message : String(err),
        },
      };
    }
  };

  const markDuplicate = (f, sha256, assetId) => {
    manifest.record({ ...pick(f), sha256, assetId, status: "duplicate" });
    result.duplicates += 1;
    progress();
  };

  // Assets this run is already PUTting. Two identical files in different requests both
  // get `upload` for the one pending asset (the first one's bytes have not arrived yet);
  // the second is a duplicate, and sending the same bytes twice would only cost time.
  const putting = new Set();

  const requestFor = (items) => ({
    ...(manifest.batchId ? { batchId: manifest.batchId } : {}),
    files: items.map(({ f, sha256 }, j) => ({
      clientId: clientIdFor(f.path, j),
      name: path.basename(f.path),
      size: f.size,
      type: f.type,
      sha256,
    })),
  });

  const postChunk = async (items) => {
    try {
      const { body: answer, ms, serverMs } = await client.createUploads(requestFor(items));
      result.postMs.push(ms);
      if (serverMs !== null && serverMs !== undefined) result.postServerMs.push(serverMs);
      manifest.setBatch(answer.batchId);
      result.batchId = answer.batchId;
      return answer;
    } catch (err) {
      const code = err?.code ?? "network_error";
      for (const { f } of items) fail(f, code, err instanceof Error ? err.message : String(err));
      return null;
    }
  };

  for (let i = 0; i < todo.length && !signal?.aborted; i += chunkSize) {
    const chunk = todo.slice(i, i + chunkSize);
    const items = [];
    for (const f of chunk) {
      const known = manifest.lookup(f.path, f.size, f.mtimeMs);
      const sha256 = known?.sha256 ?? (await sha256File(f.abs));
      if (!known) manifest.record({ ...pick(f), sha256 });
      items.push({ f, sha256 });
    }
    // Backpressure: keep at most one chunk of tickets waiting, so URLs do not expire
    // in the queue and a Ctrl-C leaves little half-done.
    await until(() => queue.length < chunkSize || signal?.aborted);
    if (signal?.aborted) break;
    const answer = await postChunk(items);
    if (!answer) continue;
    const byClient = new Map(items.map((it, j) => [clientIdFor(it.f.path, j), it]));
    for (const file of answer.files) {
      const it = byClient.get(file.clientId);
      if (!it) continue;
      if (file.status === "duplicate" || (file.upload && putting.has(file.assetId)))
        markDuplicate(it.f, it.sha256, file.assetId);
      else if (file.upload) {
        putting.add(file.assetId);
        const ticket = file.upload;
        queue.push(() =>
          putOne(it.f, it.sha256, file.assetId, ticket).catch((err) =>
            fail(it.f, "network_error", err instanceof Error ? err.message : String(err)),
          ),
        );
      }
    }
    pump();
  }
  await until(() => running === 0 && (queue.length === 0 || signal?.aborted));
  result.aborted = Boolean(signal?.aborted);
  result.endedAt = Date.now();
  return result;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pick(f) {
  return { path: f.path, size: f.size, mtimeMs: f.mtimeMs };
}
