// The File System Access API where the browser has it (Chromium): file and folder pickers
// and drops give handles, which IndexedDB can store, so a batch outlives the tab (see
// manifest.ts and Uploader.resume). Typed structurally here: TypeScript's DOM library
// lacks the pickers, `requestPermission` and `getAsFileSystemHandle`, and the unit tests
// hand in fakes. Feature-detected: without it, the pickers are the <input type=file>.

export type PermissionMode = { mode: "read" };
export type Access = "granted" | "denied" | "prompt";

type HandleBase = {
  name: string;
  queryPermission?: (d: PermissionMode) => Promise<Access>;
  requestPermission?: (d: PermissionMode) => Promise<Access>;
};
export type FileHandle = HandleBase & { kind: "file"; getFile: () => Promise<File> };
export type DirHandle = HandleBase & {
  kind: "directory";
  values: () => AsyncIterable<FileHandle | DirHandle>;
  getDirectoryHandle: (name: string) => Promise<DirHandle>;
  getFileHandle: (name: string) => Promise<FileHandle>;
};
export type Handle = FileHandle | DirHandle;

type PickerWindow = {
  showOpenFilePicker?: (o: {
    multiple: boolean;
    types?: Array<{ description: string; accept: Record<string, string[]> }>;
  }) => Promise<FileHandle[]>;
  showDirectoryPicker?: (o: { mode: "read"; id?: string }) => Promise<DirHandle>;
};

const picker = (): PickerWindow => globalThis as unknown as PickerWindow;

/** Handles from the pickers (the page stores them, so a reload can resume). */
export const hasPickers = (): boolean =>
  typeof picker().showOpenFilePicker === "function" &&
  typeof picker().showDirectoryPicker === "function";

/** Handles from drops: Chromium's DataTransferItem.getAsFileSystemHandle. */
export const hasDropHandles = (): boolean =>
  typeof DataTransferItem !== "undefined" && "getAsFileSystemHandle" in DataTransferItem.prototype;

/** null when the person closed the picker (AbortError): nothing to do. */
export async function pickFiles(accept: Record<string, string[]>): Promise<FileHandle[] | null> {
  const show = picker().showOpenFilePicker;
  if (!show) return null;
  try {
    return await show({ multiple: true, types: [{ description: "Photos", accept }] });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") return null;
    throw err;
  }
}

export async function pickFolder(): Promise<DirHandle | null> {
  const show = picker().showDirectoryPicker;
  if (!show) return null;
  try {
    return await show({ mode: "read", id: "darkroom-photos" });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") return null;
    throw err;
  }
}

/**
 * The handles of a drop. Must be called in the drop event's own task: the items are
 * emptied once it returns, so every getAsFileSystemHandle starts before the first await.
 */
export function dropHandles(dt: DataTransfer): Promise<Handle[]> {
  const pending: Array<Promise<unknown>> = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== "file") continue;
    const get = (item as unknown as { getAsFileSystemHandle?: () => Promise<unknown> })
      .getAsFileSystemHandle;
    if (get) pending.push(get.call(item));
  }
  return Promise.all(pending).then((hs) => hs.filter(isHandle));
}

export function isHandle(h: unknown): h is Handle {
  if (typeof h !== "object" || h === null || !("kind" in h) || !("name" in h)) return false;
  if (h.kind === "file") return "getFile" in h && typeof h.getFile === "function";
  return h.kind === "directory" && "values" in h && typeof h.values === "function";
}

/**
 * The path of every file under `root` (the root's name first), depth first, in slices of
 * `slice`: a folder of 20,000 files is never one array of Files nor of handles (a row
 * finds its file again through PathResolver when it is hashed and when it is PUT).
 */
export async function* walk(root: Handle, slice = 250): AsyncGenerator<string[]> {
  let out: string[] = [];
  async function* go(h: Handle, prefix: string): AsyncGenerator<string[]> {
    const path = prefix ? `${prefix}/${h.name}` : h.name;
    if (h.kind === "file") {
      out.push(path);
      if (out.length >= slice) {
        yield out;
        out = [];
      }
      return;
    }
    for await (const child of h.values()) yield* go(child, path);
  }
  yield* go(root, "");
  if (out.length > 0) yield out;
}

/**
 * A file's handle from its root and its path (as `walk` gave it: the root's name
 * first), resolved when the file is read. The manifest keeps the roots' handles, not each
 * file's, since Chromium spends ~0.8 ms of the main thread serialising one handle into
 * IndexedDB (bench:page's CPU profile): 16 s for a 20,000-file drop; and the rows of a
 * drop keep no handle of their own either (Uploader.addHandles). Folders on the way are
 * looked up once and shared.
 */
export class PathResolver {
  private readonly dirs = new Map<string, Promise<DirHandle>>();

  constructor(private readonly roots: readonly Handle[]) {}

  handle(root: number, path: string): FileHandle | null {
    const r = this.roots[root];
    if (!r) return null;
    if (r.kind === "file") return r;
    const parts = path.split("/").slice(1);
    const name = parts.pop();
    if (!name) return null;
    return {
      kind: "file",
      name,
      getFile: async () => (await (await this.dir(r, root, parts)).getFileHandle(name)).getFile(),
    };
  }

  private dir(r: DirHandle, root: number, parts: string[]): Promise<DirHandle> {
    const key = `${root}/${parts.join("/")}`;
    let d = this.dirs.get(key);
    if (!d) {
      const last = parts.at(-1);
      d =
        last === undefined
          ? Promise.resolve(r)
          : this.dir(r, root, parts.slice(0, -1)).then((p) => p.getDirectoryHandle(last));
      // A folder gone now is looked up again next time (and each file says it is gone).
      d.catch(() => this.dirs.delete(key));
      this.dirs.set(key, d);
    }
    return d;
  }
}
