// `darkroom upload <dir>`: hash, ask POST /api/uploads for tickets (100 files at most per
// request), PUT the bytes with bounded concurrency, and note every finished file in the
// manifest so a re-run only does what is missing.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { errorOf } from "./api.mjs";
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

  const putOne = async (f, sha256, assetId, ticket, renewed = false) => {
    const bytes = await readFile(f.abs);
    const { res, ms } = await client.put(ticket, bytes);
    result.putMs.push(ms);
    if (res.ok || res.status === 412) {
      // 412 already_uploaded: an earlier attempt's bytes arrived, its answer did not.
      await res.body?.cancel();
      result.bytes += bytes.byteLength;
      manifest.record({ ...pick(f), sha256, assetId, status: "uploaded" });
      result.uploaded += 1;
      progress();
      return;
    }
    const err = await errorOf(res);
    if (err.code === "url_expired" && !renewed) {
      // A pending asset gets a fresh URL for the same assetId from the same request.
      const again = await postChunk([{ f, sha256 }]);
      const item = again?.files[0];
      if (item?.status === "upload" && item.upload)
        return putOne(f, sha256, assetId, item.upload, true);
      if (item?.status === "duplicate") return markDuplicate(f, sha256, item.assetId);
    }
    fail(f, err.code, err.message);
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

  const postChunk = async (items) => {
    const body = {
      ...(manifest.batchId ? { batchId: manifest.batchId } : {}),
      files: items.map(({ f, sha256 }) => ({
        clientId: f.path,
        name: path.basename(f.path),
        size: f.size,
        type: f.type,
        sha256,
      })),
    };
    try {
      const { body: answer, ms, serverMs } = await client.createUploads(body);
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
    const byClient = new Map(items.map((it) => [it.f.path, it]));
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

function pick(f) {
  return { path: f.path, size: f.size, mtimeMs: f.mtimeMs };
}
