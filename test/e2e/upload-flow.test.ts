import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/stack.mjs";
import { ispe, primaryParts, writeHeif } from "../../workers/processor/test/heif-build";
import { png } from "./png";

// The real `npm run dev` (three workers in one wrangler dev, local D1/R2/queues) on a
// free port with its own state, driven over HTTP like a browser would.

const root = fileURLToPath(new URL("../..", import.meta.url));
const AFTER_UPLOAD = ["uploaded", "processing", "processed", "embedding", "ready"];

let dev: ChildProcess | undefined;
let devExited: Promise<void> = Promise.resolve();
let wranglerGroup: number | undefined;
let output = "";
let stateDir = "";
let port = 0;
// The page uses localhost, upload URLs come back for the origin the API was asked on:
// ask on 127.0.0.1 so both names are exercised against the one server.
const api = (p: string) => `http://127.0.0.1:${port}${p}`;

// `npm run dev` itself, not scripts/lib/stack.mjs's startStack: this test proves that
// stopping npm stops the whole stack (the last case), which startStack would do for it.
describe("upload flow against npm run dev", () => {
  beforeAll(async () => {
    port = await freePort();
    stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-e2e-"));
    dev = spawn("npm", ["run", "dev"], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        DARKROOM_STATE_DIR: stateDir,
        DARKROOM_SWEEP_SECONDS: "5",
        CI: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: afterAll signals npm, the dev script and wrangler at once.
      detached: true,
    });
    const child = dev;
    devExited = new Promise((resolve) => child.once("exit", () => resolve()));
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /wrangler dev started \(process group (\d+)\)/.exec(output);
      if (m?.[1]) wranglerGroup = Number(m[1]);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);

    const deadline = Date.now() + 200_000;
    while (!output.includes(`darkroom: ready on http://localhost:${port}`)) {
      if (child.exitCode !== null) throw new Error(`npm run dev exited early:\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`npm run dev never became ready:\n${tail()}`);
      await sleep(250);
    }
  });

  afterAll(async () => {
    await stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it("answers health on localhost and 127.0.0.1", async () => {
    for (const host of ["localhost", "127.0.0.1"]) {
      const res = await fetch(`http://${host}:${port}/api/health`);
      expect(res.status, host).toBe(200);
      expect(await res.json()).toEqual({ ok: true });
    }
  });

  it("uploads one file through the signed PUT, the queue and the processor", async () => {
    const login = await fetch(`http://localhost:${port}/api/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: `e2e-${randomBytes(4).toString("hex")}` }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const auth = { Authorization: `Bearer ${token}` };

    const bytes = png(64, 48);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const created = await fetch(api("/api/uploads"), {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        files: [{ clientId: "c1", name: "e2e.png", size: bytes.length, type: "image/png", sha256 }],
      }),
    });
    const body = (await created.json()) as UploadAnswer;
    expect(created.status, JSON.stringify(body)).toBe(200);
    const file = body.files[0];
    expect(file?.status).toBe("upload");
    const upload = file?.upload;
    if (!file || !upload) throw new Error(`no upload ticket: ${JSON.stringify(body)}`);
    expect(upload.method).toBe("PUT");

    // Exactly the listed headers; fetch adds Content-Length like a browser does.
    const put = () => fetch(upload.url, { method: "PUT", headers: upload.headers, body: bytes });
    const first = await put();
    expect(first.status, await first.text()).toBe(200);

    // pending → uploaded is the processor's answer to the notification the local PUT
    // route queued; later stages may already have run by the time we look.
    let asset: Asset | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const res = await fetch(api(`/api/assets/${file.assetId}`), { headers: auth });
      expect(res.status).toBe(200);
      asset = (await res.json()) as Asset;
      if (asset.status !== "pending") break;
      await sleep(250);
    }
    expect(asset?.id).toBe(file.assetId);
    expect(AFTER_UPLOAD, `asset: ${JSON.stringify(asset)}\n${tail()}`).toContain(asset?.status);
    expect(asset?.sha256).toBe(sha256);

    const second = await put();
    expect(second.status, await second.text()).toBe(412);
  });

  it("refuses issue 20's lying containers while /api/health keeps answering", async () => {
    const login = await fetch(`http://localhost:${port}/api/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: `e2e-${randomBytes(4).toString("hex")}` }),
    });
    const { token } = (await login.json()) as { token: string };
    const auth = { Authorization: `Bearer ${token}` };
    const attacks = hostileFiles();
    const created = await fetch(api("/api/uploads"), {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        files: attacks.map((a, i) => ({
          clientId: String(i),
          name: a.name,
          size: a.bytes.length,
          type: a.type,
          sha256: createHash("sha256").update(a.bytes).digest("hex"),
        })),
      }),
    });
    const body = (await created.json()) as UploadAnswer;
    expect(created.status, JSON.stringify(body)).toBe(200);

    // The health check runs beside the whole attack: every answer must come, and be 200.
    const health = { ok: 0, bad: [] as string[] };
    let attacking = true;
    const watcher = (async () => {
      while (attacking) {
        const res = await fetch(api("/api/health")).catch((e: unknown) => String(e));
        if (typeof res !== "string" && res.status === 200) health.ok += 1;
        else health.bad.push(typeof res === "string" ? res : String(res.status));
        await sleep(100);
      }
    })();
    try {
      for (const [i, f] of body.files.entries()) {
        const upload = f.upload;
        if (!upload) throw new Error(`no upload ticket for ${attacks[i]?.name}`);
        const put = await fetch(upload.url, {
          method: "PUT",
          headers: upload.headers,
          body: attacks[i]?.bytes,
        });
        expect(put.status, await put.text()).toBe(200);
      }
      const settled = new Map<string, Asset>();
      const deadline = Date.now() + 120_000;
      while (settled.size < body.files.length && Date.now() < deadline) {
        for (const f of body.files) {
          const res = await fetch(api(`/api/assets/${f.assetId}`), { headers: auth });
          const asset = (await res.json()) as Asset;
          if (asset.status === "failed" || asset.status === "ready") settled.set(f.assetId, asset);
        }
        await sleep(250);
      }
      for (const [i, f] of body.files.entries()) {
        const asset = settled.get(f.assetId);
        const name = attacks[i]?.name;
        expect(asset?.status, `${name}: ${JSON.stringify(asset)}\n${tail()}`).toBe("failed");
        const error = asset?.error as { code?: string; message?: string } | undefined;
        expect(["corrupt", "too_large"], `${name}: ${error?.message}`).toContain(error?.code);
      }
    } finally {
      attacking = false;
      await watcher;
    }
    expect(health.bad).toEqual([]);
    expect(health.ok).toBeGreaterThan(0);
  });

  it("stops without leaving processes behind", async () => {
    expect(wranglerGroup, "the dev script names wrangler's process group").toBeTypeOf("number");
    await stop();
    expect(dev?.exitCode !== null || dev?.signalCode !== null).toBe(true);
    for (const group of groups()) expect(alive(group), `process group ${group}`).toBe(false);
  });
});

type UploadAnswer = {
  batchId: string;
  files: Array<{
    clientId: string;
    assetId: string;
    status: "upload" | "duplicate";
    upload?: { url: string; method: string; headers: Record<string, string>; expiresAt: string };
  }>;
};

type Asset = { id: string; status: string; sha256: string; error: unknown };

function groups(): number[] {
  return [dev?.pid, wranglerGroup].filter((g): g is number => typeof g === "number");
}

/** SIGTERM to npm's group (the dev script forwards it to wrangler's), SIGKILL if slow. */
async function stop(): Promise<void> {
  if (!dev) return;
  signal(dev.pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (groups().some(alive) && Date.now() < deadline) await sleep(200);
  for (const group of groups()) signal(group, "SIGKILL");
  await Promise.race([devExited, sleep(5000)]);
}

function signal(group: number | undefined, sig: NodeJS.Signals) {
  if (group === undefined) return;
  try {
    process.kill(-group, sig);
  } catch {
    // already gone
  }
}

/** Whether any process of the group still exists (signal 0 only checks). */
function alive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(): string {
  return output.split("\n").slice(-60).join("\n");
}

/** Issue 20's attacks, rebuilt from its description (the processor's tests hold each in detail). */
function hostileFiles(): Array<{ name: string; type: string; bytes: Uint8Array }> {
  // GIF: a 1x65535 screen and a 65535x65535 first frame, in 29 bytes.
  const gif = Uint8Array.of(
    ...Buffer.from("GIF89a"),
    ...[1, 0, 0xff, 0xff, 0, 0, 0], // screen 1x65535, no colour table
    ...[0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0], // image 65535x65535 at 0,0
    ...[2, 2, 0x4c, 0x01, 0], // LZW code size 2, one sub-block, end
    0x3b,
  );
  // AVIF: a 4096x4096 AV1 image whose ispe says 64x64.
  const avif = readFileSync(path.join(root, "test/fixtures/heif/av1-ispe-lies.avif"));
  // HEIC: 256 "to the end of the file" extents of a 4 MB file, and an association storm.
  const photo = readFileSync(path.join(root, "test/fixtures/heif/photo.heic"));
  const parts = primaryParts(new Uint8Array(photo), "hvc1");
  const props = [parts.box("hvcC"), ispe(parts.width, parts.height)];
  const base = writeHeif({ primary: 1, items: [{ id: 1, type: "hvc1", data: parts.data, props }] });
  const toEnd = Array.from({ length: 256 }, (): [number, number] => [
    base.length - parts.data.length,
    0,
  ]);
  const extents = writeHeif({
    primary: 1,
    padTo: 4 * 1024 * 1024,
    items: [{ id: 1, type: "hvc1", extents: toEnd, props }],
  });
  const storm = writeHeif({
    primary: 1,
    items: [{ id: 1, type: "hvc1", data: parts.data, props }],
    extraAssociations: Array.from({ length: 4000 }, (): [number, number[]] => [1, [1, 2]]),
  });
  return [
    { name: "frame-past-screen.gif", type: "image/gif", bytes: gif },
    { name: "ispe-lies.avif", type: "image/avif", bytes: new Uint8Array(avif) },
    { name: "extents-to-end.heic", type: "image/heic", bytes: extents },
    { name: "association-storm.heic", type: "image/heic", bytes: storm },
  ];
}

function sleep(ms: number) {
  return new Promise<void>((r) => setTimeout(r, ms));
}
