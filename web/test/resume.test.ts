import { describe, expect, it } from "vitest";
import type { Access, DirHandle, FileHandle, Handle } from "../src/file-handles";
import { PathResolver, walk } from "../src/file-handles";
import { regainAccess } from "../src/permissions";
import { checkResumed, resumeRoots } from "../src/upload/resume";
import type { Row } from "../src/upload/rows";

/** A folder of fakes; `lookups` counts getDirectoryHandle calls. */
function dir(name: string, children: Handle[], lookups = { n: 0 }): DirHandle {
  const find = (n: string, kind: Handle["kind"]) => {
    const c = children.find((x) => x.name === n && x.kind === kind);
    if (!c) throw new DOMException(`${n} is gone`, "NotFoundError");
    return c;
  };
  return {
    kind: "directory",
    name,
    values: async function* () {
      yield* children;
    },
    getDirectoryHandle: async (n) => {
      lookups.n += 1;
      return find(n, "directory") as DirHandle;
    },
    getFileHandle: async (n) => find(n, "file") as FileHandle,
  };
}

/** A handle whose permission answers are scripted, recording what was asked. */
function fakeRoot(name: string, query: Access, request: Access | "throw" = "granted") {
  const calls: string[] = [];
  const h: DirHandle = {
    ...dir(name, []),
    queryPermission: async (d) => {
      calls.push(`query:${d.mode}`);
      return query;
    },
    requestPermission: async (d) => {
      calls.push(`request:${d.mode}`);
      if (request === "throw") throw new DOMException("needs a user gesture", "SecurityError");
      return request;
    },
  };
  return { h, calls };
}

function fakeFile(name: string, size: number, lastModified: number, gone = false): FileHandle {
  return {
    kind: "file",
    name,
    getFile: async () => {
      if (gone) throw new DOMException("gone", "NotFoundError");
      return new File([new Uint8Array(size)], name, { lastModified });
    },
  };
}

const row = (seq: number, over: Partial<Row>): Row => ({
  seq,
  clientId: `c${seq}`,
  name: `f${seq}.jpg`,
  size: 0,
  lastModified: 0,
  file: null,
  handle: null,
  root: 0,
  sha256: null,
  type: null,
  assetId: null,
  local: "needs-file",
  loaded: 0,
  note: null,
  attempts: 0,
  ...over,
});

describe("regainAccess", () => {
  it("does not ask again for a root still granted", async () => {
    const a = fakeRoot("a", "granted");
    expect((await regainAccess([a.h]))[0]?.access).toBe("granted");
    expect(a.calls).toEqual(["query:read"]);
  });

  it("asks for read access when the browser would prompt, and takes the person's yes", async () => {
    const a = fakeRoot("a", "prompt", "granted");
    expect((await regainAccess([a.h]))[0]).toMatchObject({ access: "granted", reason: null });
    expect(a.calls).toEqual(["query:read", "request:read"]);
  });

  it("reports a refusal, a denied root without asking, and a request the browser refused", async () => {
    const no = fakeRoot("no", "prompt", "denied");
    const blocked = fakeRoot("blocked", "denied");
    const late = fakeRoot("late", "prompt", "throw");
    const r = await regainAccess([no.h, blocked.h, late.h]);
    expect(r.map((x) => x.access)).toEqual(["denied", "denied", "error"]);
    expect(blocked.calls).toEqual(["query:read"]);
    expect(r[2]?.reason).toMatch(/^SecurityError/);
  });

  it("starts every root's query in the caller's task, before any answer", () => {
    const roots = [fakeRoot("a", "prompt"), fakeRoot("b", "prompt"), fakeRoot("c", "granted")];
    void regainAccess(roots.map((r) => r.h));
    // Nothing awaited yet: all three were asked synchronously (the click's gesture).
    expect(roots.map((r) => r.calls)).toEqual([["query:read"], ["query:read"], ["query:read"]]);
  });
});

describe("resumeRoots", () => {
  it("asks each root once however many files wait under it, and keeps only the granted", async () => {
    const a = fakeRoot("a", "prompt", "granted");
    const b = fakeRoot("b", "prompt", "denied");
    const waiting = [row(0, { root: 0 }), row(1, { root: 0 }), row(2, { root: 1 })];
    const granted = await resumeRoots([a.h, b.h] as Handle[], waiting);
    expect([...granted]).toEqual([0]);
    expect(a.calls.filter((c) => c.startsWith("request"))).toHaveLength(1);
  });
});

describe("checkResumed", () => {
  it("registers unchanged hashed files, hashes the never-hashed, lists changed and gone ones with why", async () => {
    const t = 1_700_000_000_000;
    const rows = [
      row(0, {
        handle: fakeFile("same", 10, t),
        size: 10,
        lastModified: t,
        sha256: "a",
        type: "image/jpeg",
      }),
      row(1, { handle: fakeFile("fresh", 10, t) }),
      row(2, {
        handle: fakeFile("grown", 12, t),
        size: 10,
        lastModified: t,
        sha256: "b",
        type: "image/jpeg",
      }),
      row(3, {
        handle: fakeFile("touched", 10, t + 1000),
        size: 10,
        lastModified: t,
        sha256: "c",
        type: "image/jpeg",
      }),
      row(4, {
        handle: fakeFile("gone", 10, t, true),
        size: 10,
        lastModified: t,
        sha256: "d",
        type: "image/jpeg",
      }),
    ];
    const seen: string[] = [];
    await checkResumed(rows, {
      register: (r) => seen.push(`register ${r.seq}`),
      hash: (r) => seen.push(`hash ${r.seq}`),
      changed: (r, why) => seen.push(`changed ${r.seq}: ${why}`),
    });
    expect(seen.sort()).toEqual([
      "changed 2: changed since the drop: 10 → 12 bytes",
      `changed 3: changed since the drop: modified ${new Date(t + 1000).toISOString()}`,
      "changed 4: gone since the drop (NotFoundError)",
      "hash 1",
      "register 0",
    ]);
  });
});

describe("walk", () => {
  it("yields the path of every file under a folder, in slices", async () => {
    const root = dir("card", [
      fakeFile("a.jpg", 1, 0),
      dir("DCIM", [fakeFile("b.jpg", 1, 0), fakeFile("c.jpg", 1, 0)]),
    ]);
    const slices: string[][] = [];
    for await (const s of walk(root, 2)) slices.push(s);
    expect(slices).toEqual([["card/a.jpg", "card/DCIM/b.jpg"], ["card/DCIM/c.jpg"]]);
  });
});

describe("PathResolver", () => {
  it("finds a file again from its root and path, looking each folder up once", async () => {
    const lookups = { n: 0 };
    const root = dir(
      "card",
      [dir("DCIM", [fakeFile("b.jpg", 3, 0), fakeFile("c.jpg", 4, 0)], lookups)],
      lookups,
    );
    const loose = fakeFile("loose.jpg", 5, 0);
    const paths = new PathResolver([root, loose]);
    expect((await paths.handle(0, "card/DCIM/b.jpg")?.getFile())?.size).toBe(3);
    expect((await paths.handle(0, "card/DCIM/c.jpg")?.getFile())?.size).toBe(4);
    expect(lookups.n).toBe(1);
    expect(paths.handle(1, "loose.jpg")).toBe(loose);
    await expect(paths.handle(0, "card/DCIM/gone.jpg")?.getFile()).rejects.toThrow(/gone/);
    expect(paths.handle(2, "x.jpg")).toBeNull();
  });
});
