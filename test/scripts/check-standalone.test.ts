import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { problems } from "../../scripts/check-standalone.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Built from pieces so this file itself passes the check it tests.
const up = (n: number) => "../".repeat(n);
const slash = "/";

describe("check-standalone", () => {
  it("passes on the repository as committed", () => {
    const r = spawnSync(process.execPath, ["scripts/check-standalone.mjs"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("refuses a fixture folder beside the repository", () => {
    const text = `const dir = new URL("${up(3)}shared/fixtures/images", import.meta.url);`;
    expect(problems("/r", "workers/processor/vitest.config.ts", text)).toEqual([
      `workers/processor/vitest.config.ts:1: ${up(3)}shared/fixtures/images leaves the repository`,
    ]);
  });

  it("refuses a path of a development machine", () => {
    expect(problems("/r", "bench.ts", `const f = "${slash}work/shared/fixtures";`)).toHaveLength(1);
    expect(problems("/r", "notes.md", `run ${slash}home/ann/bin/node`)).toHaveLength(1);
  });

  it("refuses prose in docs/ that points beside the repository", () => {
    expect(
      problems("/r", "docs/benchmarks.md", `the photos of ${up(1)}shared/fixtures`),
    ).toHaveLength(1);
  });

  it("refuses a package's source importing another package's files by path", () => {
    const text = `import { sniffImageType } from "${up(2)}shared/src/image-types.mjs";`;
    expect(problems("/r", "packages/cli/src/files.mjs", text)).toEqual([
      `packages/cli/src/files.mjs:1: ${up(2)}shared/src/image-types.mjs reaches into packages/shared; import it by its package name`,
    ]);
    expect(
      problems("/r", "packages/cli/src/files.mjs", 'import { scan } from "./scan.mjs";'),
    ).toEqual([]);
  });

  it("accepts references that stay inside", () => {
    expect(problems("/r", "workers/api/tsconfig.json", '"extends": "../../tsconfig.json"')).toEqual(
      [],
    );
    expect(problems(root, "docs/DESIGN.md", "see [it](../README.md) and /api/uploads")).toEqual([]);
  });
});
