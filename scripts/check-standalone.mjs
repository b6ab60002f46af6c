// `node scripts/check-standalone.mjs`: fails when a tracked file refers outside the
// repository, so a clone from a public host installs, tests and benchmarks by itself.
//
// Two kinds of reference are refused:
// - an absolute path of a machine (/work/…, /home/…, /root/…, /Users/…, C:\…);
// - a relative path that climbs out of the repository: resolved from the file's own
//   folder (code: `new URL(…, import.meta.url)`, imports, tsconfig `extends`) and,
//   for the prose at the top and in docs/ (written from the root's point of view), from
//   the root too, unless it names a file that exists from the file's folder (a link).
// - source of one workspace package importing another's files by a relative path.
// Binary files are skipped. Run by .ci/run; tested in test/scripts/check-standalone.test.ts.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MACHINE_PATH =
  /(?<![\w.~-])(?:\/(?:work|home|root|Users|mnt|tmp\/bash_jobs)\/[\w.-]|[A-Z]:\\\\?[\w])/;
const CLIMB = /(?<![\w./-])((?:\.\.\/)+)([\w@./-]*)/g;

/** The workspace a path lies in (packages/x, workers/x, web), or null. */
const workspaceOf = (rel) => /^(?:(?:packages|workers)\/[^/]+|web)(?=\/)/.exec(rel)?.[0] ?? null;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']*)["']/g;

const outside = (root, p) => {
  const rel = path.relative(root, p);
  return rel === ".." || rel.startsWith(`..${path.sep}`);
};

/** Every problem in one file's text, as "line: reason". */
export function problems(root, file, text) {
  const out = [];
  const dir = path.dirname(path.join(root, file));
  const fromRoot = !file.includes("/") || file.startsWith("docs/");
  // Source (not tests) of one workspace package reaching into another's files by a
  // relative path: it works in this checkout only; import the package by its name.
  const home = /\/(?:src)\//.test(file) ? workspaceOf(file) : null;
  text.split("\n").forEach((line, i) => {
    if (home) {
      for (const m of line.matchAll(IMPORT)) {
        const target = workspaceOf(path.relative(root, path.resolve(dir, m[1] ?? "")));
        if (target && target !== home)
          out.push(
            `${file}:${i + 1}: ${m[1]} reaches into ${target}; import it by its package name`,
          );
      }
    }
    const machine = line.match(MACHINE_PATH);
    if (machine) out.push(`${file}:${i + 1}: absolute path of a machine (${machine[0]}…)`);
    for (const m of line.matchAll(CLIMB)) {
      const ref = m[1] + m[2];
      const fromFile = path.resolve(dir, ref);
      const leaves =
        outside(root, fromFile) ||
        (fromRoot && outside(root, path.resolve(root, ref)) && !existsSync(fromFile));
      if (leaves) out.push(`${file}:${i + 1}: ${ref} leaves the repository`);
    }
  });
  return out;
}

function main() {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
    .split("\0")
    .filter((f) => f && f !== "package-lock.json");
  const found = [];
  for (const file of files) {
    let buf;
    try {
      buf = readFileSync(path.join(root, file));
    } catch {
      continue; // deleted in the work tree
    }
    if (buf.includes(0)) continue; // binary
    found.push(...problems(root, file, buf.toString("utf8")));
  }
  if (found.length > 0) {
    console.error(`check-standalone: ${found.length} reference(s) outside the repository:`);
    for (const p of found) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log(`check-standalone: ${files.length} tracked files refer only inside the repository`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
