// One row per picked file: what the page knows locally about it, before and beside the
// server's word (progress.ts holds that).
import type { FileHandle } from "../file-handles";

export type LocalStage =
  | "hashing"
  | "registering"
  | "skipped"
  | "duplicate"
  | "queued"
  | "uploading"
  | "waiting"
  | "sent"
  | "upload-failed"
  | "needs-file"
  /** Resumed after a reload, but the file changed or vanished since the drop (see note). */
  | "changed";

export type Row = {
  /** Its place in the drop: the manifest record's key. */
  seq: number;
  clientId: string;
  name: string;
  /** 0 until hashed: the hash worker reads a picked file's metadata, not the page. */
  size: number;
  lastModified: number;
  /** A picked File (input, entries API), held until its PUT is answered. */
  file: File | null;
  /** Or a handle (pickers and drops in Chromium): read when hashed and when PUT. */
  handle: FileHandle | null;
  /** Index of the root (folder or loose file) the handle came under, in Uploader.roots. */
  root: number | null;
  sha256: string | null;
  type: string | null;
  assetId: string | null;
  local: LocalStage;
  loaded: number;
  note: string | null;
  attempts: number;
};

/** The row's bytes now: its File, or its handle's current file (which may have changed). */
export function fileOf(row: Row): Promise<File | null> {
  if (row.file) return Promise.resolve(row.file);
  return row.handle ? row.handle.getFile() : Promise.resolve(null);
}

/** A row just picked: nothing read yet (the hash workers read size and date). */
export function freshRow(
  seq: number,
  clientId: string,
  name: string,
  from: Pick<Row, "file" | "handle" | "root">,
): Row {
  return {
    seq,
    clientId,
    name,
    size: 0,
    lastModified: 0,
    // Spelled out rather than spread: the spread was a visible part of making 20,000 rows
    // in bench:page's CPU profile, and every row gets the same shape as rowOf's.
    file: from.file,
    handle: from.handle,
    root: from.root,
    sha256: null,
    type: null,
    assetId: null,
    local: "hashing",
    loaded: 0,
    note: null,
    attempts: 0,
  };
}
