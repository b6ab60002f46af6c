// Read access to stored handles again, after a reload or a browser restart: the one
// Resume click. `requestPermission` needs a user gesture (transient activation, a few
// seconds after the click in Chromium), so every root's query starts in the click's own
// task and every request follows at once, side by side: a slow answer to one prompt
// does not let the gesture expire for the next. A folder's permission covers every file
// in it, so the roots asked for are the distinct handles the person gave (a folder, or a
// loose file), never each file of a folder.
// https://developer.mozilla.org/en-US/docs/Web/API/FileSystemHandle/requestPermission
import type { Access, Handle } from "./file-handles";

export type AccessResult = { root: Handle; access: Access | "error"; reason: string | null };

const READ = { mode: "read" } as const;

/** One result per root, in order: granted, denied, or error (with why). */
export function regainAccess(roots: readonly Handle[]): Promise<AccessResult[]> {
  return Promise.all(roots.map((root) => askOne(root)));
}

async function askOne(root: Handle): Promise<AccessResult> {
  try {
    // Without the query (older Chromium), ask; a handle with neither is always readable
    // (the origin private file system's, for one).
    const now = root.queryPermission ? await root.queryPermission(READ) : "granted";
    if (now === "granted") return { root, access: "granted", reason: null };
    if (now === "denied" || !root.requestPermission) {
      return { root, access: "denied", reason: "read access was refused" };
    }
    const after = await root.requestPermission(READ);
    return {
      root,
      access: after === "granted" ? "granted" : "denied",
      reason: after === "granted" ? null : "read access was not granted",
    };
  } catch (err) {
    // SecurityError: no user gesture any more; NotFoundError: the folder is gone.
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { root, access: "error", reason };
  }
}
