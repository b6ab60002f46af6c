// Issue 21: every message and every status change of the pipeline goes through
// packages/shared/src/lifecycle/ (the pipeline table and the writes beside it). This reads
// the workers' and the shared package's sources and fails on a queue send or a status
// write anywhere else, so a new stage or route cannot bypass the table unnoticed.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const LIFECYCLE = path.join("packages", "shared", "src", "lifecycle") + path.sep;

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) return sources(rel);
    return /\.(ts|js|mjs)$/.test(name) && !/\.test\.ts$|\.d\.ts$/.test(name) ? [rel] : [];
  });
}

/** The text of the call's arguments that starts at `open` (the index of its `(`). */
function argumentsAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth += 1;
    else if (text[i] === ")" && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

/** What in `text` sends a queue message or writes an asset's status, one line each. */
function pipelineWrites(text: string): string[] {
  const found: string[] = [];
  const lineOf = (at: number) => text.slice(0, at).split("\n").length;
  // A queue binding's send: `env.UPLOADS_QUEUE.send(`, `queue.sendBatch(`, ….
  for (const m of text.matchAll(/\b\w*(?:QUEUE|[Qq]ueue)\w*\s*\??\.\s*(send|sendBatch)\s*\(/g)) {
    found.push(`line ${lineOf(m.index)}: queue ${m[1]}`);
  }
  // The lifecycle's status change, called from elsewhere.
  for (const m of text.matchAll(/(?<!function )\btransition\s*\(/g)) {
    found.push(`line ${lineOf(m.index)}: transition()`);
  }
  // Raw SQL that sets a status.
  for (const m of text.matchAll(/UPDATE\s+assets\s+SET[^;`]*?\bstatus\s*=/gi)) {
    found.push(`line ${lineOf(m.index)}: UPDATE assets SET status`);
  }
  // drizzle: `.update(assets)…set({ … status … })`, a row inserted with a literal status,
  // and `writeAsset(…, { status })`.
  for (const m of text.matchAll(/\.update\(\s*assets\s*\)\s*\.set\s*\(/g)) {
    const args = argumentsAt(text, m.index + m[0].length - 1);
    if (/\bstatus\s*:/.test(args)) found.push(`line ${lineOf(m.index)}: update(assets) status`);
  }
  for (const m of text.matchAll(/\.insert\(\s*assets\s*\)/g)) {
    const rest = text.slice(m.index, m.index + 2000);
    if (/\bstatus\s*:\s*["']/.test(rest.split(/\.returning|\.onConflict/)[0] ?? "")) {
      found.push(`line ${lineOf(m.index)}: insert(assets) with a literal status`);
    }
  }
  for (const m of text.matchAll(/\bwriteAsset\s*\(/g)) {
    const args = argumentsAt(text, m.index + m[0].length - 1);
    if (/\bstatus\s*:/.test(args)) found.push(`line ${lineOf(m.index)}: writeAsset status`);
  }
  return found;
}

describe("the pipeline's boundary", () => {
  it("recognises every way of sending a message or writing a status", () => {
    expect(pipelineWrites("await env.UPLOADS_QUEUE.send(note);")).toHaveLength(1);
    expect(pipelineWrites("await c.env.EMBED_QUEUE.sendBatch([m]);")).toHaveLength(1);
    expect(pipelineWrites("queue.send(body)")).toHaveLength(1);
    expect(pipelineWrites("ws.send(text)")).toEqual([]);
    expect(pipelineWrites('await transition(lc, id, "failed", "uploaded")')).toHaveLength(1);
    expect(pipelineWrites("UPDATE assets SET status = 'failed' WHERE id = ?")).toHaveLength(1);
    expect(
      pipelineWrites('d.update(assets).set(versioned({ status: "ready" }, now)).where(x)'),
    ).toHaveLength(1);
    expect(pipelineWrites("d.update(assets).set({ retries: 1 })")).toEqual([]);
    expect(pipelineWrites('d.insert(assets).values({ id, status: "ready" })')).toHaveLength(1);
    expect(pipelineWrites('writeAsset(lc, id, cond, { status: "failed" })')).toHaveLength(1);
    expect(pipelineWrites("writeAsset(lc, id, cond, { redescribeAt: 1 })")).toEqual([]);
  });

  it("finds no queue send and no status write outside lifecycle/", () => {
    const files = [
      ...readdirSync(path.join(root, "workers")).flatMap((w) => {
        const src = path.join("workers", w, "src");
        try {
          return sources(src);
        } catch {
          return [];
        }
      }),
      ...sources(path.join("packages", "shared", "src")),
    ].filter((f) => !f.startsWith(LIFECYCLE));
    expect(files.length).toBeGreaterThan(50);
    const offending = files.flatMap((f) =>
      pipelineWrites(readFileSync(path.join(root, f), "utf8")).map((w) => `${f} ${w}`),
    );
    expect(offending).toEqual([]);
  });
});
