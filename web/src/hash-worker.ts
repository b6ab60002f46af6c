// Hashing off the main thread. Small files: crypto.subtle.digest on the whole file
// (native, fastest). Files over HASH_STREAM_THRESHOLD: read in chunks through the
// incremental SHA-256, so a 50 MB photo never sits in memory twice and the worker's
// footprint stays at one chunk. The magic bytes are read here too.
/// <reference lib="webworker" />
import { type DirHandle, walk } from "./file-handles";
import { Sha256 } from "./sha256";
import { classify, HEAD_BYTES } from "./sniff";

export type HashRequest = { id: number; file: File };
/**
 * A folder walked here rather than on the page: walking creates a handle object per
 * entry (a Blink object with a Mojo connection), and 20,000 of them made garbage
 * collections and Mojo traffic on the page's main thread in the drop's first seconds
 * (bench:page's trace). Only the paths come back, a slice at a time.
 */
export type WalkRequest = { walk: number; root: DirHandle; slice: number };
export type WalkResponse =
  | { walk: number; paths: string[] }
  | { walk: number; done: true }
  | { walk: number; error: string };
/**
 * `size` and `lastModified` come from here, not from the page: in Chromium the first read
 * of a picked file's metadata is a synchronous call to the browser process, ~0.5 ms each,
 * so reading them for 2,000 files on the main thread blocked the page for a second.
 */
export type HashResponse = { id: number; size: number; lastModified: number } & (
  | { ok: true; sha256: string; type: string }
  | { ok: false; reason: string }
);

const HASH_STREAM_THRESHOLD = 8 * 1024 * 1024;
/**
 * Between two slices of a walk: 20,000 files take 80 slices, so 8 s more. Still 2,500
 * paths a second, far ahead of hashing (~150 files a second with one worker), so nothing
 * waits for it; but each slice costs the page 250 rows, their manifest records (an
 * IndexedDB put each, one task of the browser process's main thread each) and a render,
 * and at 25 ms the walk's seconds held every long task of a 20,000-file drop (bench:page).
 */
const WALK_PAUSE_MS = 100;
const CHUNK = 4 * 1024 * 1024;

declare const self: DedicatedWorkerGlobalScope;

self.onmessage = async (e: MessageEvent<HashRequest | WalkRequest>) => {
  if ("walk" in e.data) {
    await walkFolder(e.data);
    return;
  }
  const { file } = e.data;
  const meta = { id: e.data.id, size: file.size, lastModified: file.lastModified };
  try {
    // A photo up to the threshold is read once, its head sniffed from the same bytes:
    // each read is a round trip through the browser process, whose IO thread was the
    // busiest thread of a 20,000-file drop (bench:page's per-thread CPU).
    const whole = file.size <= HASH_STREAM_THRESHOLD ? await file.arrayBuffer() : null;
    const head = whole
      ? new Uint8Array(whole, 0, Math.min(HEAD_BYTES, whole.byteLength))
      : new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
    const verdict = classify(file.type, file.size, head);
    if (!verdict.ok) {
      self.postMessage({ ...meta, ok: false, reason: verdict.reason } satisfies HashResponse);
      return;
    }
    const sha256 = whole ? hex(await crypto.subtle.digest("SHA-256", whole)) : await hashFile(file);
    self.postMessage({ ...meta, ok: true, sha256, type: verdict.type } satisfies HashResponse);
  } catch (err) {
    const reason = `could not read the file: ${err instanceof Error ? err.message : String(err)}`;
    self.postMessage({ ...meta, ok: false, reason } satisfies HashResponse);
  }
};

async function walkFolder({ walk: id, root, slice }: WalkRequest): Promise<void> {
  try {
    for await (const paths of walk(root, slice)) {
      self.postMessage({ walk: id, paths } satisfies WalkResponse);
      // Paced: the browser process makes a handle for every entry and the page a row for
      // every path; a folder of 20,000 walked flat out put all of that in the same second,
      // where the page's longest tasks were (bench:page).
      await new Promise((r) => setTimeout(r, WALK_PAUSE_MS));
    }
    self.postMessage({ walk: id, done: true } satisfies WalkResponse);
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    self.postMessage({ walk: id, error } satisfies WalkResponse);
  }
}

function hex(digest: ArrayBuffer): string {
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A file over the threshold, in chunks. */
async function hashFile(file: File): Promise<string> {
  const h = new Sha256();
  for (let off = 0; off < file.size; off += CHUNK) {
    h.update(new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer()));
  }
  return h.hex();
}
