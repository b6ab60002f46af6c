// What the upload view shows, computed from the rows and the server's progress: pure
// functions, so the rules (which stage a row shows, which failures are listed and how
// they are retried) are unit-tested without a browser.
import type { AssetProgress } from "./progress";
import type { Row } from "./upload/rows";

const STAGE_LABEL: Record<string, string> = {
  pending: "uploaded, waiting",
  uploaded: "uploaded",
  processing: "processing",
  processed: "processed",
  embedding: "indexing",
  ready: "searchable",
  failed: "failed",
  deleted: "deleted",
};

export type RowStage = { text: string; cls: string };

/**
 * A row's stage: local verdicts that need no server first (duplicate, skipped), then the
 * server's word once it has said something (version > 0), else what the page is doing.
 */
export function rowStage(row: Row, server: AssetProgress | undefined): RowStage {
  if (row.local === "duplicate" || row.local === "skipped")
    return { text: row.local, cls: row.local };
  if (server && server.status !== "pending" && server.version > 0) {
    return { text: STAGE_LABEL[server.status] ?? server.status, cls: server.status };
  }
  switch (row.local) {
    case "uploading":
      return {
        text: `uploading ${Math.round((row.loaded / Math.max(1, row.size)) * 100)}%`,
        cls: "uploading",
      };
    case "sent":
      return { text: "uploaded", cls: "uploaded" };
    case "needs-file":
      return { text: `not uploaded: ${row.handle ? "resume" : "re-pick"}`, cls: "failed" };
    case "changed":
      return { text: "changed since the drop", cls: "skipped" };
    case "upload-failed":
      return { text: "upload failed", cls: "failed" };
    default:
      return { text: row.local, cls: row.local };
  }
}

/**
 * One failure in the list. `assetId` set: the server failed it (Retry asks the API to
 * retry that asset); null: the page could not upload it (Retry starts the upload again).
 */
export type Failure = {
  key: string;
  name: string;
  reason: string;
  assetId: string | null;
  row: Row | null;
};

/**
 * Server failures first (with the server's code and message), then the files the page
 * could not register or upload, unless the server already lists them as failed.
 */
export function failuresOf(
  rows: readonly Row[],
  assets: ReadonlyMap<string, AssetProgress>,
  rowByAsset: (id: string) => Row | undefined,
): Failure[] {
  const out: Failure[] = [];
  for (const [id, a] of assets) {
    if (a.status !== "failed") continue;
    const row = rowByAsset(id) ?? null;
    out.push({
      key: id,
      name: row?.name ?? id,
      reason: a.error ? `${a.error.code}: ${a.error.message}` : "failed",
      assetId: id,
      row,
    });
  }
  for (const row of rows) {
    if (row.local !== "upload-failed") continue;
    if (row.assetId && assets.get(row.assetId)?.status === "failed") continue;
    out.push({
      key: row.clientId,
      name: row.name,
      reason: row.note ?? "upload failed",
      assetId: null,
      row,
    });
  }
  return out;
}

export type LocalCounts = {
  /** Rows that will become assets: neither skipped nor duplicates. */
  toUpload: number;
  skipped: Row[];
  duplicates: number;
  needsFile: number;
  /** Of those, the ones with a stored handle: Resume finishes them without a pick. */
  resumable: number;
  /** Resumed files that changed or vanished since the drop, each with why in its note. */
  changed: Row[];
  /** Read and hashed (or refused by the sniff): past the hash workers. */
  hashed: number;
};

/** One pass over the rows for the counters and the skipped list. */
export function localCounts(rows: readonly Row[]): LocalCounts {
  const skipped: Row[] = [];
  let duplicates = 0;
  let needsFile = 0;
  let resumable = 0;
  let hashed = 0;
  const changed: Row[] = [];
  for (const r of rows) {
    if (r.sha256 !== null || r.local === "skipped") hashed += 1;
    if (r.local === "skipped") skipped.push(r);
    else if (r.local === "duplicate") duplicates += 1;
    else if (r.local === "changed") changed.push(r);
    else if (r.local === "needs-file") {
      needsFile += 1;
      if (r.handle) resumable += 1;
    }
  }
  return {
    toUpload: rows.length - skipped.length - duplicates - changed.length,
    skipped,
    duplicates,
    needsFile,
    resumable,
    changed,
    hashed,
  };
}
