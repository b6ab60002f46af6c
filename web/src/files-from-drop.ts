// Files out of a drop, folders included (recursively), through the entries API that
// every current browser has for drag-and-drop. Typed structurally so it is testable
// with fakes.

export type EntryLike = {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  file?: (ok: (f: File) => void, err: (e: unknown) => void) => void;
  createReader?: () => {
    readEntries: (ok: (entries: EntryLike[]) => void, err: (e: unknown) => void) => void;
  };
};

export async function filesFromEntries(entries: EntryLike[]): Promise<File[]> {
  const out: File[] = [];
  const walk = async (entry: EntryLike): Promise<void> => {
    if (entry.isFile && entry.file) {
      const read = entry.file;
      out.push(await new Promise<File>((ok, err) => read.call(entry, ok, err)));
    } else if (entry.isDirectory && entry.createReader) {
      const reader = entry.createReader();
      // readEntries answers in pages (100 in Chromium) until an empty one.
      for (;;) {
        const page = await new Promise<EntryLike[]>((ok, err) => reader.readEntries(ok, err));
        if (page.length === 0) break;
        for (const e of page) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out;
}

export async function filesFromDataTransfer(dt: DataTransfer): Promise<File[]> {
  const entries: EntryLike[] = [];
  const loose: File[] = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry() as EntryLike | null;
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  return [...loose, ...(await filesFromEntries(entries))];
}
