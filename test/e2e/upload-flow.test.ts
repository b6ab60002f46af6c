import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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

function sleep(ms: number) {
  return new Promise<void>((r) => setTimeout(r, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const p = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(p));
    });
  });
}

/** A small real RGB PNG with random pixels (a fresh SHA-256 every run). */
function png(width: number, height: number): Buffer {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  const pixels = randomBytes(width * height * 3);
  for (let y = 0; y < height; y++) {
    // Filter byte 0 (none) starts each row.
    pixels.copy(rows, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

// zlib.crc32 needs Node 22.2; this runs on the system Node 20 too.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
