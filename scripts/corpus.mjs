// `npm run corpus -- <dir>…`: every image under the folders goes through the real stack
// (`npm run dev` on a free port with its own state, scripts/lib/stack.mjs; the CLI's API
// client), and what Darkroom made of it is set against what libvips (sharp) makes of the
// same bytes: decoded or refused, upright size, orientation, and the thumbnail's pixels
// (scripts/lib/corpus-compare.mjs). Per file and per folder, then a Markdown summary.
//
// Public corpora: `bash scripts/fetch-corpora.sh` prints the folders it fetched.
// CORPUS_JSON=<file> also writes every file's verdict as JSON.
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { sniffImageType } from "@darkroom/shared/image-types";
import { createClient } from "../packages/cli/src/index.mjs";
import { compareThumb, DARKROOM_FORMATS, judge, libvipsVerdict } from "./lib/corpus-compare.mjs";
import { login, startStack } from "./lib/stack.mjs";

const dirs = process.argv.slice(2).filter((a) => a !== "--");
if (dirs.length === 0) {
  console.error("usage: npm run corpus -- <dir>…   (bash scripts/fetch-corpora.sh fetches some)");
  process.exit(2);
}
/** The API's MAX_UPLOAD_BYTES default (workers/api/src/lib/config/config.ts). */
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
const SETTLE_MS = Number(process.env.CORPUS_SETTLE_MS ?? 30 * 60_000);
const SETTLED = new Set(["processed", "embedding", "ready", "failed"]);

/** Every regular file under `dir` (symlinked folders followed at the top only). */
async function walk(dir) {
  const out = [];
  const visit = async (abs) => {
    const entries = await readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const full = path.join(abs, e.name);
      if (e.isDirectory()) await visit(full);
      else if (e.isFile()) out.push(full);
    }
  };
  await visit(dir);
  return out;
}

/** The files of the corpus that are images of a format Darkroom takes, by either side. */
async function collect() {
  const files = [];
  let others = 0;
  for (const dir of dirs) {
    const corpus = path.basename(path.resolve(dir));
    for (const abs of await walk(path.resolve(dir))) {
      const s = await stat(abs);
      if (s.size === 0 || s.size > MAX_UPLOAD_BYTES) continue;
      const bytes = new Uint8Array(await readFile(abs));
      const sniffed = sniffImageType(bytes.subarray(0, 64));
      const libvips = await libvipsVerdict(bytes);
      // Out of scope: what neither Darkroom's sniff nor libvips calls one of its formats
      // (sources, text, TIFF, BMP, PPM…).
      if (!sniffed && !(libvips.format && DARKROOM_FORMATS.has(libvips.format))) {
        others += 1;
        continue;
      }
      files.push({
        corpus,
        name: path.relative(path.resolve(dir), abs),
        bytes,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        // The declared type never decides (issue 23): a file the sniff does not know is
        // declared as browsers declare it, and the processor's sniff decides.
        type: sniffed ?? "application/octet-stream",
        libvips,
      });
    }
  }
  return { files, others };
}

/** Registers and PUTs every file, in one batch; returns the batch id. */
async function upload(client, files) {
  const byHash = new Map();
  let batchId;
  for (let i = 0; i < files.length; i += 50) {
    const part = files.slice(i, i + 50);
    const { body } = await client.createUploads({
      ...(batchId ? { batchId } : {}),
      files: part.map((f, j) => ({
        clientId: `c${i + j}`,
        name: `${f.corpus}/${f.name}`.slice(-1024),
        size: f.bytes.byteLength,
        type: f.type,
        sha256: f.sha256,
      })),
    });
    batchId = body.batchId;
    console.error(`corpus: uploading ${Math.min(files.length, i + 50)}/${files.length}`);
    for (const answer of body.files) {
      const f = part[Number(answer.clientId.slice(1)) - i];
      if (!f) continue;
      f.assetId = answer.assetId;
      if (answer.status === "upload" && !byHash.has(f.sha256)) {
        byHash.set(f.sha256, answer.assetId);
        const { res } = await client.put(answer.upload, f.bytes);
        if (!res.ok) f.uploadError = `PUT ${res.status}: ${(await res.text()).slice(0, 160)}`;
        else await res.body?.cancel();
      }
    }
  }
  return batchId;
}

/** Waits until every asset of the batch is settled (listing the batch, a page at a time). */
async function settle(client, files, batchId) {
  const wanted = new Set(files.filter((f) => f.assetId && !f.uploadError).map((f) => f.assetId));
  const settled = new Map();
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline && settled.size < wanted.size) {
    let cursor;
    do {
      const page = await client.listAssets({
        batchId,
        limit: "100",
        ...(cursor ? { cursor } : {}),
      });
      for (const a of page.assets) if (SETTLED.has(a.status)) settled.set(a.id, a);
      cursor = page.nextCursor;
    } while (cursor);
    console.error(`corpus: ${settled.size}/${wanted.size} settled`);
    if (settled.size < wanted.size) await new Promise((r) => setTimeout(r, 3000));
  }
  for (const f of files) f.asset = settled.get(f.assetId) ?? null;
}

async function main() {
  const { files, others } = await collect();
  console.error(
    `corpus: ${files.length} images (${others} other files skipped); starting the stack`,
  );
  const stack = await startStack({ env: { DARKROOM_WORKERS: "api,processor" } });
  try {
    const token = await login(stack.url, `corpus-${randomBytes(4).toString("hex")}`);
    const client = createClient({ url: stack.url, token });
    const t0 = Date.now();
    const batchId = await upload(client, files);
    await settle(client, files, batchId);
    console.error(`corpus: settled in ${Math.round((Date.now() - t0) / 1000)} s`);
    for (const f of files) {
      const asset = f.asset ?? {
        status: f.uploadError ? "not uploaded" : "unsettled",
        error: f.uploadError ? { code: "upload", message: f.uploadError } : null,
      };
      let thumb = null;
      if (asset.urls?.thumb) {
        const res = await fetch(`${stack.url}${asset.urls.thumb}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        if (res.ok)
          thumb = await compareThumb(f.bytes, new Uint8Array(await res.arrayBuffer())).catch(
            () => null,
          );
      }
      f.thumb = thumb;
      f.verdict = judge(f.libvips, asset, thumb);
      f.darkroom = {
        status: asset.status,
        width: asset.width ?? null,
        height: asset.height ?? null,
        animated: asset.animated ?? false,
        error: asset.error ?? null,
      };
    }
  } finally {
    await stack.stop();
  }
  report(files, others);
  if (process.env.CORPUS_JSON) {
    const rows = files.map(({ bytes, ...f }) => f);
    await writeFile(process.env.CORPUS_JSON, JSON.stringify(rows, null, 1));
  }
}

function report(files, others) {
  for (const f of files) {
    const v = f.verdict;
    const p = f.thumb ? ` psnr=${f.thumb.psnr}` : "";
    console.log(
      `${v.ok ? "ok  " : "FAIL"} ${f.corpus}/${f.name}: libvips ${f.libvips.decodes}` +
        ` ${f.libvips.width ?? "-"}x${f.libvips.height ?? "-"}; darkroom ${f.darkroom.status}` +
        ` ${f.darkroom.width ?? "-"}x${f.darkroom.height ?? "-"}${p}${v.why ? ` — ${v.why}` : ""}`,
    );
  }
  const rows = new Map();
  const add = (key, f) => {
    const r = rows.get(key) ?? { files: 0, clean: 0, parity: 0, refuses: 0, handled: 0 };
    r.files += 1;
    if (f.verdict.class === "parity") {
      r.clean += 1;
      if (f.verdict.ok) r.parity += 1;
    } else {
      r.refuses += 1;
      if (f.verdict.ok) r.handled += 1;
    }
    rows.set(key, r);
  };
  for (const f of files) add(f.corpus, f);
  for (const f of files) add("**total**", f);
  const pct = (a, b) => (b === 0 ? "–" : `${((100 * a) / b).toFixed(1)} %`);
  console.log(
    "\n| corpus | images | libvips decodes cleanly | Darkroom ready, right size, upright, matching pixels | parity | libvips refuses | Darkroom refuses with a reason or decodes |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [k, r] of rows) {
    console.log(
      `| ${k} | ${r.files} | ${r.clean} | ${r.parity} | ${pct(r.parity, r.clean)} | ${r.refuses} | ${r.handled} |`,
    );
  }
  console.log(`\n${others} other files (neither side's formats) skipped.`);
}

await main();
