// One row per picked file: what the page knows locally about it, before and beside the
// server's word (progress.ts holds that).

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
  | "needs-file";

export type Row = {
  clientId: string;
  name: string;
  /** 0 until hashed: the hash worker reads a picked file's metadata, not the page. */
  size: number;
  lastModified: number;
  file: File | null;
  sha256: string | null;
  type: string | null;
  assetId: string | null;
  local: LocalStage;
  loaded: number;
  note: string | null;
  attempts: number;
};
