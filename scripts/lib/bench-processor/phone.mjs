// Step 6 of `npm run bench:processor`: iPhone-style HEICs and AVIFs, the pipeline in
// workerd against Debian's native decoders.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gridHeic } from "../heif-writer.mjs";
import { BUDGET_MB, LIFTED_BUDGET_MB, MB, mb, median, RUNS } from "./common.mjs";
import { photoLike } from "./inputs.mjs";
import { process1 } from "./worker.mjs";

/**
 * iPhone-style HEICs and AVIFs of the photo-like image; [file, native decoder].
 * BENCH_PHONE_DIR=<dir>: made there instead, and a file already there is reused (the HEIC
 * grids take minutes to encode; a run that compares decoder builds needs the same files).
 */
export async function generatePhone(tmpDir) {
  const dir = process.env.BENCH_PHONE_DIR ?? tmpDir;
  const reuse = (file) => process.env.BENCH_PHONE_DIR !== undefined && existsSync(file);
  const out = [];
  // BENCH_PHONE=avif: the AVIF rows alone (the HEIC grids take minutes to encode);
  // BENCH_PHONE=deep: the 10/12-bit HEIC rows alone.
  const only = process.env.BENCH_PHONE;
  const heics =
    only === "avif" || only === "deep"
      ? []
      : [
          ["12mp-iphone-grid.heic", 4032, 3024],
          ["48mp-iphone-grid.heic", 8064, 6048],
        ];
  for (const [name, w, h] of heics) {
    const file = path.join(dir, name);
    out.push([file, "heif-convert"]);
    if (reuse(file)) continue;
    const { data } = await (await photoLike(w, h)).raw().toBuffer({ resolveWithObject: true });
    const exif = {
      make: "Apple",
      model: "iPhone 15 Pro",
      orientation: 1,
      taken: "2024:01:02 03:04:05",
    };
    writeFileSync(
      file,
      await gridHeic(data, w, h, { args: ["-q", "50", "-p", "preset=fast"], exif }),
    );
  }
  // Deep HEIC (Samsung phones write 10-bit HEIF): one untiled coded image each, from a
  // 16-bit PNG of the same photo, heif-enc -b 10 / -b 12. libde265's SSE code is 8-bit
  // only, so these take its high-bit-depth C paths.
  const deep =
    only === "avif"
      ? []
      : [
          ["12mp-10bit.heic", 4032, 3024, "10"],
          ["12mp-12bit.heic", 4032, 3024, "12"],
        ];
  for (const [name, w, h, bits] of deep) {
    const file = path.join(dir, name);
    out.push([file, "heif-convert"]);
    if (reuse(file)) continue;
    const png = path.join(dir, `${name}.png`);
    await (await photoLike(w, h)).toColourspace("rgb16").png({ compressionLevel: 1 }).toFile(png);
    execFileSync("heif-enc", ["-q", "50", "-p", "preset=fast", "-b", bits, png, "-o", file], {
      stdio: "pipe",
    });
    rmSync(png);
  }
  // AVIF: phone-style 4:2:0 (8- and 10-bit), avifenc's default 4:4:4, and a 48 MP grid
  // (AVIF's way to big images; an untiled 48 MP frame is refused by the estimate, and
  // Debian's avifdec cannot decode avifenc's untiled 48 MP output either).
  // BENCH_PHONE=heic: the HEIC rows alone.
  const avifs =
    only === "heic" || only === "deep"
      ? []
      : [
          ["12mp-420.avif", 4000, 3000, ["-y", "420"]],
          ["12mp-420-10bit.avif", 4000, 3000, ["-y", "420", "-d", "10"]],
          ["12mp-444.avif", 4000, 3000, ["-y", "444"]],
          ["12mp-444-10bit.avif", 4000, 3000, ["-y", "444", "-d", "10"]],
          ["48mp-420-grid.avif", 8000, 6000, ["-y", "420", "-g", "8x6"]],
        ];
  for (const [name, w, h, args] of avifs) {
    const file = path.join(dir, name);
    out.push([file, "avifdec"]);
    if (reuse(file)) continue;
    const png = path.join(dir, `${name}.png`);
    await (await photoLike(w, h))
      .toColourspace(args.includes("-d") ? "rgb16" : "srgb")
      .png({ compressionLevel: 1 })
      .toFile(png);
    execFileSync(
      "avifenc",
      ["-s", "8", "-j", "2", "--min", "20", "--max", "40", ...args, png, file],
      { stdio: "pipe" },
    );
    rmSync(png);
  }
  return out;
}

/**
 * Median wall time and the largest peak RSS over `runs` runs of the native decoder (its
 * own process: what it needs for this one image), full size to a JPEG q90.
 */
function native(tool, file, outDir, runs, { args = [], oneCore = false } = {}) {
  const ms = [];
  const cpu = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const out = path.join(outDir, `native-${path.basename(file)}.jpg`);
    const timed = ["-f", "maxrss=%M cpu=%U+%S", tool, ...args, "-q", "90", file, out];
    const t0 = performance.now();
    // oneCore: pinned to one CPU (taskset), so its threads share one core as the isolate does.
    const child = oneCore
      ? spawnSync("taskset", ["-c", "0", "/usr/bin/time", ...timed], { encoding: "utf8" })
      : spawnSync("/usr/bin/time", timed, { encoding: "utf8" });
    ms.push(performance.now() - t0);
    if (child.status !== 0) throw new Error(`${tool} failed: ${child.stderr}`);
    const m = /maxrss=(\d+) cpu=([\d.]+)\+([\d.]+)/.exec(child.stderr);
    rss = Math.max(rss, Number(m?.[1] ?? 0) * 1024);
    cpu.push((Number(m?.[2] ?? 0) + Number(m?.[3] ?? 0)) * 1000);
    rmSync(out, { force: true });
  }
  return { ms: median(ms), cpuMs: median(cpu), rss };
}

/** The pipeline in workerd against the native decoder on each phone file, interleaved runs. */
export async function phoneRun(worker, files, outDir) {
  const rows = [];
  const notes = [];
  const targets = {};
  for (const [file, tool] of files) {
    const name = path.basename(file);
    process.stdout.write(`${name}... `);
    const bytes = readFileSync(file);
    let budgetMb = BUDGET_MB;
    let r = await process1(worker, bytes, budgetMb);
    let refused = null;
    if (r.error?.code === "too_large") {
      refused = r.error;
      budgetMb = LIFTED_BUDGET_MB;
      r = await process1(worker, bytes, budgetMb);
    }
    if (r.error) {
      rows.push({ image: name, "workerd ms": `refused: ${r.error.code}` });
      notes.push(`${name}: ${r.error.message}`);
      continue;
    }
    const ms = [];
    const nativeMs = [];
    // CPU time both sides (the wall clock on a shared machine is mostly the other jobs'):
    // workerd's from /proc around the request, the native tool's user + sys from time.
    // The native tools use every core by default and a Worker has one: heif-convert is also
    // timed pinned to one core, avifdec also on one thread (-j 1).
    const cpu = [];
    const nativeCpu = [];
    const oneCoreMs = [];
    const oneThread = [];
    let peak = 0;
    let est = 0;
    let rss = 0;
    for (let i = 0; i < RUNS; i++) {
      const cpu0 = worker.cpuMs();
      const run = (await process1(worker, bytes, budgetMb)).runs[0];
      cpu.push(worker.cpuMs() - cpu0);
      ms.push(run.ms);
      peak = Math.max(peak, run.peakBytes);
      est = run.estimatedBytes;
      const n = native(tool, file, outDir, 1);
      nativeMs.push(n.ms);
      nativeCpu.push(n.cpuMs);
      rss = Math.max(rss, n.rss);
      if (tool === "heif-convert")
        oneCoreMs.push(native(tool, file, outDir, 1, { oneCore: true }).ms);
      if (tool === "avifdec") oneThread.push(native(tool, file, outDir, 1, { args: ["-j", "1"] }));
    }
    const j1 = oneThread.length
      ? `${Math.round(median(oneThread.map((n) => n.ms)))} / ${Math.round(median(oneThread.map((n) => n.cpuMs)))}`
      : "";
    rows.push({
      image: refused ? `${name} *` : name,
      input: `${r.runs[0].width}x${r.runs[0].height}, ${mb(bytes.length)} MB`,
      "workerd ms": Math.round(median(ms)),
      native: tool,
      "native ms": Math.round(median(nativeMs)),
      ratio: Number((median(ms) / median(nativeMs)).toFixed(2)),
      "CPU ms w/n": `${Math.round(median(cpu))} / ${Math.round(median(nativeCpu))}`,
      "CPU ratio": Number((median(cpu) / median(nativeCpu)).toFixed(2)),
      "-j 1 ms / CPU": j1,
      "peak MB": mb(peak),
      "est MB": mb(est),
      "native RSS MB": mb(rss),
      ...(oneCoreMs.length
        ? {
            "native 1 core ms": Math.round(median(oneCoreMs)),
            "ratio 1 core": Number((median(ms) / median(oneCoreMs)).toFixed(2)),
          }
        : {}),
    });
    if (refused)
      notes.push(
        `${name} *: over the ${BUDGET_MB} MB budget ("${refused.message}"; production hands it to the Images binding if Cloudflare's Images takes it, never an AVIF); measured with the budget lifted to ${LIFTED_BUDGET_MB} MB`,
      );
    if (peak > est) notes.push(`${name}: measured peak ${mb(peak)} MB > estimate ${mb(est)} MB`);
    if (name.startsWith("12mp-iphone")) targets.heic12 = peak;
    if (name.startsWith("48mp-iphone")) targets.heic48 = peak;
    if (tool === "heif-convert") {
      targets.heicRatio = Math.max(targets.heicRatio ?? 0, median(ms) / median(nativeMs));
      targets.heicCpuRatio = Math.max(targets.heicCpuRatio ?? 0, median(cpu) / median(nativeCpu));
    }
    // Every 12 MP AVIF (4:2:0 and 4:4:4, 8- and 10-bit): the worst one is the target's.
    if (name.startsWith("12mp-") && name.endsWith(".avif"))
      targets.avif12 = Math.max(targets.avif12 ?? 0, peak);
    if (name === "48mp-420-grid.avif") targets.avif48 = peak;
    if (tool === "avifdec") {
      targets.avifRatio = Math.max(targets.avifRatio ?? 0, median(ms) / median(nativeMs));
      targets.avifCpuRatio = Math.max(targets.avifCpuRatio ?? 0, median(cpu) / median(nativeCpu));
    }
  }
  return { rows, notes, targets };
}

export function printPhone({ rows, notes, targets }) {
  console.log(
    `\nphone formats: processImage in workerd (decode + preview + thumb + WebP) vs the native decoder alone (full-size decode to JPEG q90 in its own process, peak RSS from /usr/bin/time), median of ${RUNS} interleaved runs`,
  );
  console.table(rows);
  for (const n of notes) console.log(`- ${n}`);
  const verdict = (ok) => (ok ? "MET" : "NOT MET");
  if (targets.heic12 !== undefined) {
    console.log(
      `- 12 MP iPhone-style HEIC peak ≤ 40 MB: ${verdict(targets.heic12 <= 40 * MB)} (${mb(targets.heic12)} MB)`,
    );
    console.log(
      `- 48 MP iPhone-style HEIC peak ≤ 60 MB: ${verdict(targets.heic48 <= 60 * MB)} (${mb(targets.heic48)} MB)`,
    );
  }
  if (targets.heicRatio !== undefined)
    console.log(
      `- HEIC time ≤ 2x heif-convert (worst row): ${verdict(targets.heicRatio <= 2)} (${targets.heicRatio.toFixed(2)}x; CPU time ${targets.heicCpuRatio?.toFixed(2)}x)`,
    );
  if (targets.avif12 === undefined) return;
  console.log(
    `- 12 MP AVIF peak ≤ 40 MB (worst of 4:2:0 and 4:4:4, 8- and 10-bit): ${verdict(targets.avif12 <= 40 * MB)} (${mb(targets.avif12)} MB)`,
  );
  console.log(
    `- 48 MP AVIF grid peak ≤ 60 MB: ${verdict(targets.avif48 <= 60 * MB)} (${mb(targets.avif48)} MB)`,
  );
  console.log(
    `- AVIF time ≤ 3x avifdec (worst row): ${verdict(targets.avifRatio <= 3)} (${targets.avifRatio?.toFixed(2)}x)`,
  );
  console.log(
    `- AVIF CPU time ≤ 3x avifdec's (worst row; workerd's whole process, avifdec's user + sys): ${verdict(targets.avifCpuRatio <= 3)} (${targets.avifCpuRatio?.toFixed(2)}x)`,
  );
}
