// Resuming an interrupted drop from its stored handles (Uploader.resume): which roots to
// ask read access for, and what each waiting file is now. Kept apart from the coordinator
// so the rules read in one place.
import type { Handle } from "../file-handles";
import { regainAccess } from "../permissions";
import type { Row } from "./rows";

export type ResumeOutcome = { roots: number; granted: number; files: number };

/** Files looked at side by side: getFile is one browser-process round trip each. */
const CHECKS_AT_ONCE = 8;

/**
 * Read access for the roots the waiting rows came under (one request per root, all
 * started in the caller's gesture); the indexes of the roots now readable. A refused
 * root's files stay `needs-file`, so the re-pick notice offers them.
 */
export async function resumeRoots(
  roots: readonly Handle[],
  waiting: readonly Row[],
): Promise<Set<number>> {
  const wanted = [...new Set(waiting.map((r) => r.root))].filter(
    (i): i is number => i !== null && roots[i] !== undefined,
  );
  const results = await regainAccess(wanted.map((i) => roots[i] as Handle));
  return new Set(wanted.filter((_, k) => results[k]?.access === "granted"));
}

export type CheckSink = {
  /** Unchanged and hashed: register again (its sha256 and type are in the manifest). */
  register: (row: Row) => void;
  /** Never hashed (or hashed by an older page that kept no type): hash it. */
  hash: (row: Row) => void;
  changed: (row: Row, reason: string) => void;
};

/** Why a file is not the one dropped any more, or null when it still is. */
export function changeSince(row: Row, now: { size: number; lastModified: number }): string | null {
  // Size 0 with no hash: the reload came before it was read; nothing to compare.
  if (!row.sha256 && row.size === 0) return null;
  if (now.size !== row.size) return `changed since the drop: ${row.size} → ${now.size} bytes`;
  if (now.lastModified !== row.lastModified) {
    return `changed since the drop: modified ${new Date(now.lastModified).toISOString()}`;
  }
  return null;
}

export async function checkResumed(rows: readonly Row[], sink: CheckSink): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const row = rows[next++];
      if (!row?.handle) continue;
      let file: File;
      try {
        file = await row.handle.getFile();
      } catch (err) {
        const why = err instanceof Error ? err.name : String(err);
        sink.changed(row, `gone since the drop (${why})`);
        continue;
      }
      const reason = changeSince(row, file);
      if (reason) sink.changed(row, reason);
      else if (row.sha256 && row.type) sink.register(row);
      else sink.hash(row);
    }
  };
  await Promise.all(Array.from({ length: CHECKS_AT_ONCE }, lane));
}
