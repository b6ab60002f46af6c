import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createClient,
  Manifest,
  main,
  parseCli,
  scan,
  serverTotalMs,
  UsageError,
  uploadDirectory,
  // @ts-expect-error plain ESM JavaScript without declarations (runs without a build step)
} from "../../packages/cli/src/index.mjs";

const env = { DARKROOM_URL: "http://127.0.0.1:1", DARKROOM_TOKEN: "t" };

function sink() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stream, text: () => text };
}

describe("darkroom arguments", () => {
  it("takes the endpoint and token from the environment", () => {
    const o = parseCli(["upload", "photos"], env);
    expect(o).toMatchObject({
      command: "upload",
      url: env.DARKROOM_URL,
      token: "t",
      concurrency: 4,
    });
  });

  it("lets flags override the environment", () => {
    const o = parseCli(
      ["search", "blue", "sky", "--url", "https://x.example", "--token", "u"],
      env,
    );
    expect(o).toMatchObject({
      command: "search",
      query: "blue sky",
      url: "https://x.example",
      token: "u",
    });
  });

  it("refuses a missing token, an unknown command, an unknown flag and a bad number", () => {
    expect(() => parseCli(["upload", "d"], { DARKROOM_URL: "http://x" })).toThrow(/no token/);
    expect(() => parseCli(["frobnicate"], env)).toThrow(UsageError);
    expect(() => parseCli(["upload", "d", "--bogus"], env)).toThrow(UsageError);
    expect(() => parseCli(["upload", "d", "--concurrency", "0"], env)).toThrow(/concurrency/);
    expect(() => parseCli(["search", "x", "--limit", "51"], env)).toThrow(/limit/);
    expect(() => parseCli(["upload"], env)).toThrow(/one directory/);
  });

  it("prints usage on stderr and exits 2 on a usage error, help on stdout with 0", async () => {
    const out = sink();
    const err = sink();
    const io = { env, stdout: out.stream, stderr: err.stream };
    expect(await main(["nope"], io)).toBe(2);
    expect(err.text()).toMatch(/unknown command "nope"[\s\S]*Usage: darkroom/);
    expect(await main(["--help"], io)).toBe(0);
    expect(out.text()).toMatch(/^Usage: darkroom/);
  });

  it("reports an API error as one JSON line on stderr when not on a TTY", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unauthorized", message: "Bad token" } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const out = sink();
    const err = sink();
    const code = await main(["search", "x"], {
      env: { DARKROOM_URL: url, DARKROOM_TOKEN: "t" },
      stdout: out.stream,
      stderr: err.stream,
    });
    server.close();
    expect(code).toBe(1);
    expect(JSON.parse(err.text())).toEqual({
      error: { code: "unauthorized", message: "401 unauthorized: Bad token" },
    });
  });
});

describe("retry-failed", () => {
  async function against(status: number, body: unknown, tty: boolean) {
    const server = createServer((_req, res) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const out = sink();
    const err = sink();
    Object.assign(out.stream, { isTTY: tty });
    Object.assign(err.stream, { isTTY: tty });
    const code = await main(["retry-failed"], {
      env: { DARKROOM_URL: url, DARKROOM_TOKEN: "t" },
      stdout: out.stream,
      stderr: err.stream,
    });
    server.close();
    return { code, out: out.text(), err: err.text() };
  }

  it("says how many failed photos are past the retry limit and what to do", async () => {
    const r = await against(
      200,
      { requeued: 1, reupload: 0, skipped: 0, retryLimitReached: 2 },
      true,
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      "requeued 1, to re-upload 0, skipped 0; 2 past the retry limit (delete them to upload them anew)\n",
    );
  });

  it("passes on the server's reason when every failed photo is past the limit", async () => {
    const message =
      "2 failed photo(s) have had the most retries one photo gets (3). Delete them to upload them anew.";
    const r = await against(409, { error: { code: "retry_limit_reached", message } }, true);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`darkroom: 409 retry_limit_reached: ${message}\n`);
  });
});

describe("retries", () => {
  it("reads the worker's own time from Server-Timing's total and nothing else", () => {
    expect(serverTotalMs('total;dur=12.5;desc="worker"')).toBe(12.5);
    expect(serverTotalMs('total;desc="worker";dur=7')).toBe(7);
    expect(serverTotalMs("db;dur=3, total;dur=40")).toBe(40);
    expect(serverTotalMs("totals;dur=3")).toBeNull();
    expect(serverTotalMs("total;desc=x")).toBeNull();
    expect(serverTotalMs(null)).toBeNull();
  });
});

// R2's S3 XML error bodies (https://developers.cloudflare.com/r2/api/error-codes/).
const r2Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${message}</Message>\n</Error>`;
const R2_412 = r2Error(
  "PreconditionFailed",
  "At least one of the pre-conditions you specified did not hold",
);
const R2_EXPIRED = r2Error("ExpiredRequest", "Request has expired");
const R2_SIG = r2Error(
  "SignatureDoesNotMatch",
  "The request signature we calculated does not match the signature you provided.",
);

/** A fake API: POST /api/uploads, PUT /put/:id and GET /api/assets/:id, recording what it saw. */
function fakeApi(opts: {
  failPutsOnce?: number;
  duplicates?: Set<string>;
  status429Once?: boolean;
  /** Answer like the API does: one asset per content hash, `upload` while it is pending. */
  assetPerHash?: boolean;
  /** Scripted PUT answers per file (then 200): R2's XML errors, replayed. */
  putAnswers?: Map<string, Array<{ status: number; body: string; stores?: boolean }>>;
  /** GET /api/assets/:id's status per asset id ("pending" when not set). */
  assetStatus?: Map<string, string>;
}) {
  const seen = {
    posts: 0,
    puts: [] as string[],
    files: [] as string[],
    gets: [] as string[],
    putUrls: [] as string[],
  };
  let round = 0;
  let putFailures = opts.failPutsOnce ?? 0;
  let limited = opts.status429Once ?? false;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const port = (server.address() as AddressInfo).port;
    if (req.method === "GET" && req.url?.startsWith("/api/assets/")) {
      const id = decodeURIComponent(req.url.slice("/api/assets/".length));
      seen.gets.push(id);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ id, status: opts.assetStatus?.get(id) ?? "pending" }));
      return;
    }
    if (req.method === "POST" && req.url === "/api/uploads") {
      if (limited) {
        limited = false;
        res.writeHead(429, { "Retry-After": "0" });
        res.end("{}");
        return;
      }
      seen.posts += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        files: Array<{ clientId: string; sha256: string }>;
      };
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          batchId: "00000000-0000-4000-8000-000000000001",
          files: body.files.map((f) => {
            seen.files.push(f.clientId);
            const assetId = opts.assetPerHash ? `a-${f.sha256.slice(0, 12)}` : `a-${f.clientId}`;
            if (opts.duplicates?.has(f.clientId))
              return { clientId: f.clientId, assetId, status: "duplicate" };
            return {
              clientId: f.clientId,
              assetId,
              status: "upload",
              upload: {
                url: `http://127.0.0.1:${port}/put/${encodeURIComponent(f.clientId)}?r=${round++}`,
                method: "PUT",
                headers: {},
                expiresAt: "",
              },
            };
          }),
        }),
      );
      return;
    }
    if (req.method === "PUT") {
      const url = new URL(req.url ?? "/", "http://x");
      const id = decodeURIComponent(url.pathname.slice(5));
      seen.putUrls.push(`${id}?${url.searchParams.get("r")}`);
      const scripted = opts.putAnswers?.get(id)?.shift();
      if (scripted) {
        if (scripted.stores) seen.puts.push(id);
        // Status 0: the bytes arrived, the connection died before the answer.
        if (scripted.status === 0) {
          req.socket.destroy();
          return;
        }
        res.writeHead(scripted.status, { "Content-Type": "application/xml" });
        res.end(scripted.body);
        return;
      }
      if (putFailures > 0) {
        putFailures -= 1;
        res.writeHead(503);
        res.end("busy");
        return;
      }
      seen.puts.push(id);
      res.writeHead(200);
      res.end("{}");
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return {
    seen,
    start: () =>
      new Promise<string>((r) =>
        server.listen(0, "127.0.0.1", () =>
          r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// Tiny files whose first bytes say what they are: the CLI goes by magic bytes.
const photo = (body: string) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from(body)]);
const png = (body: string) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(body)]);
const webp = (body: string) => Buffer.from(`RIFF\0\0\0\0WEBP${body}`, "latin1");
const heic = () =>
  Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from("ftypheic\0\0\0\0mif1heic", "latin1")]);

describe("upload and its manifest", () => {
  let dir = "";
  let manifestPath = "";
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "darkroom-cli-"));
    mkdirSync(path.join(dir, "sub", "deeper"), { recursive: true });
    for (const [name, body] of [
      ["a.jpg", photo("A")],
      ["b.PNG", png("B")],
      ["sub/c.webp", webp("C")],
      ["sub/deeper/d.jpeg", photo("D")],
      ["notes.txt", "not a photo"],
      ["fake.jpg", "a text file named like a photo"],
      [".hidden.jpg", photo("H")],
    ] as const) {
      writeFileSync(path.join(dir, name), body);
    }
    manifestPath = path.join(dir, "m.jsonl");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a phone's HEIC by its bytes, whatever its extension says", async () => {
    writeFileSync(path.join(dir, "IMG_0001.HEIC"), heic());
    writeFileSync(path.join(dir, "no-extension"), heic());
    const files = (await scan(dir)) as Array<{ path: string; type: string }>;
    expect(files.filter((f) => f.type === "image/heic").map((f) => f.path)).toEqual([
      "IMG_0001.HEIC",
      "no-extension",
    ]);
  });

  it("finds photos recursively, skipping other files and hidden ones", async () => {
    const files = (await scan(dir)) as Array<{ path: string; type: string }>;
    expect(files.map((f) => [f.path, f.type])).toEqual([
      ["a.jpg", "image/jpeg"],
      ["b.PNG", "image/png"],
      ["sub/c.webp", "image/webp"],
      ["sub/deeper/d.jpeg", "image/jpeg"],
    ]);
  });

  it("uploads every file once, counts duplicates, and survives a 429 and a 503", async () => {
    const api = fakeApi({ failPutsOnce: 1, duplicates: new Set(["b.PNG"]), status429Once: true });
    const url = await api.start();
    const client = createClient({ url, token: "t", retries: 3 });
    const r = await uploadDirectory({ client, dir, manifestPath, concurrency: 2 });
    await api.close();
    expect(r).toMatchObject({ total: 4, uploaded: 3, duplicates: 1, skipped: 0, failed: [] });
    expect(api.seen.puts.sort()).toEqual(["a.jpg", "sub/c.webp", "sub/deeper/d.jpeg"]);
  });

  it("uploads from a folder nested deeper than a clientId may be long", async () => {
    const deep = path.join(...Array.from({ length: 12 }, (_, i) => `folder-${i}-of-a-long-trip`));
    mkdirSync(path.join(dir, deep), { recursive: true });
    writeFileSync(path.join(dir, deep, "e.jpg"), photo("E"));
    writeFileSync(path.join(dir, deep, "f.jpg"), photo("F"));
    const api = fakeApi({});
    const url = await api.start();
    const client = createClient({ url, token: "t" });
    const r = await uploadDirectory({ client, dir, manifestPath, concurrency: 2 });
    await api.close();
    expect(path.join(deep, "e.jpg").length).toBeGreaterThan(200);
    expect(r).toMatchObject({ total: 6, uploaded: 6, failed: [] });
    expect(Math.max(...api.seen.files.map((id) => id.length))).toBeLessThanOrEqual(200);
    expect(new Set(api.seen.files).size).toBe(6);
  });

  it("sends the bytes of identical files once, even when they are registered in different requests", async () => {
    writeFileSync(path.join(dir, "sub", "a-copy.jpg"), photo("A"));
    const api = fakeApi({ assetPerHash: true });
    const url = await api.start();
    const client = createClient({ url, token: "t" });
    const r = await uploadDirectory({ client, dir, manifestPath, concurrency: 2, chunkSize: 1 });
    await api.close();
    expect(api.seen.posts).toBe(5);
    expect(r).toMatchObject({ total: 5, uploaded: 4, duplicates: 1, failed: [] });
    expect(api.seen.puts.sort()).toEqual(["a.jpg", "b.PNG", "sub/c.webp", "sub/deeper/d.jpeg"]);
    // Four small files sent; the copy's bytes are not counted.
    expect(r.bytes).toBe(
      photo("A").length + png("B").length + webp("C").length + photo("D").length,
    );
  });

  it("counts a PUT that R2 answers 412 PreconditionFailed as done once the API says uploaded", async () => {
    const assetStatus = new Map([["a-a.jpg", "pending"]]);
    const api = fakeApi({
      assetStatus,
      putAnswers: new Map([
        // The first PUT lands but its answer is lost; the second finds the object.
        [
          "a.jpg",
          [
            { status: 0, body: "", stores: true },
            { status: 412, body: R2_412 },
          ],
        ],
      ]),
    });
    const url = await api.start();
    const client = createClient({ url, token: "t" });
    // The server registers the object a moment later (its notification is queued).
    const later = setTimeout(() => assetStatus.set("a-a.jpg", "uploaded"), 300);
    const r = await uploadDirectory({ client, dir, manifestPath, concurrency: 2 });
    clearTimeout(later);
    await api.close();
    expect(r).toMatchObject({ total: 4, uploaded: 4, failed: [] });
    expect(api.seen.gets.length).toBeGreaterThanOrEqual(1);
    expect(api.seen.gets.every((id) => id === "a-a.jpg")).toBe(true);
    expect(api.seen.puts.filter((p) => p === "a.jpg")).toHaveLength(1);
  });

  it("gets a fresh URL when R2 says the request expired, and PUTs to it", async () => {
    const api = fakeApi({
      putAnswers: new Map([["b.PNG", [{ status: 403, body: R2_EXPIRED }]]]),
    });
    const url = await api.start();
    const client = createClient({ url, token: "t" });
    const r = await uploadDirectory({ client, dir, manifestPath, concurrency: 2 });
    await api.close();
    expect(r).toMatchObject({ uploaded: 4, failed: [] });
    const tries = api.seen.putUrls.filter((u) => u.startsWith("b.PNG"));
    expect(tries).toHaveLength(2);
    expect(tries[0]).not.toBe(tries[1]);
    expect(api.seen.files.filter((c) => c === "b.PNG")).toHaveLength(2);
  });

  it("gives up on a signature R2 keeps refusing, saying why, after a bounded number of fresh URLs", async () => {
    const api = fakeApi({
      putAnswers: new Map([
        ["b.PNG", Array.from({ length: 10 }, () => ({ status: 403, body: R2_SIG }))],
      ]),
    });
    const url = await api.start();
    const client = createClient({ url, token: "t" });
    const r = await uploadDirectory({ client, dir, manifestPath, concurrency: 2 });
    await api.close();
    expect(r.uploaded).toBe(3);
    expect(r.failed).toEqual([
      {
        path: "b.PNG",
        code: "SignatureDoesNotMatch",
        message: expect.stringMatching(
          /^SignatureDoesNotMatch: The request signature .* after 3 fresh/,
        ),
      },
    ]);
    expect(api.seen.putUrls.filter((u) => u.startsWith("b.PNG"))).toHaveLength(4);
  });

  it("uploads only what is missing when re-run after an interruption", async () => {
    // The first run is stopped after its first finished file, like a Ctrl-C.
    const api = fakeApi({});
    const url = await api.start();
    const client = createClient({ url, token: "t" });
    const controller = new AbortController();
    const first = await uploadDirectory({
      client,
      dir,
      manifestPath,
      concurrency: 1,
      chunkSize: 1,
      signal: controller.signal,
      onProgress: (p: { done: number }) => {
        if (p.done >= 1) controller.abort();
      },
    });
    expect(first.aborted).toBe(true);
    expect(first.uploaded).toBe(1);
    const second = await uploadDirectory({ client, dir, manifestPath, concurrency: 2 });
    await api.close();
    expect(second).toMatchObject({ skipped: 1, uploaded: 3, failed: [] });
    // Every file reached the server exactly once, in the same batch.
    expect(api.seen.puts.sort()).toEqual(["a.jpg", "b.PNG", "sub/c.webp", "sub/deeper/d.jpeg"]);
    expect(second.batchId).toBe(first.batchId);
  });

  it("uploads a file again when it changed since the manifest noted it", async () => {
    const api = fakeApi({});
    const url = await api.start();
    const client = createClient({ url, token: "t" });
    await uploadDirectory({ client, dir, manifestPath });
    writeFileSync(path.join(dir, "a.jpg"), photo("A, edited"));
    utimesSync(path.join(dir, "a.jpg"), new Date(), new Date(Date.now() + 5000));
    const again = await uploadDirectory({ client, dir, manifestPath });
    await api.close();
    expect(again).toMatchObject({ skipped: 3, uploaded: 1 });
  });

  it("ignores a torn last manifest line from a kill mid-write", () => {
    writeFileSync(
      manifestPath,
      `${JSON.stringify({ v: 1, batchId: "b1" })}\n${JSON.stringify({ path: "a.jpg", size: 1, mtimeMs: 5, sha256: "x", assetId: "id", status: "uploaded" })}\n{"path":"b.PNG","si`,
    );
    const m = new Manifest(manifestPath);
    expect(m.batchId).toBe("b1");
    expect(m.isDone("a.jpg", 1, 5)).toBe(true);
    expect(m.isDone("b.PNG", 1, 5)).toBe(false);
    expect(readFileSync(manifestPath, "utf8")).toContain('"si');
  });
});
