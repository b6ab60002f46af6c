import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

it.each(["processor", "api,thumbnailer", ""])(
  "npm run dev refuses DARKROOM_WORKERS=%j before starting anything",
  (workers) => {
    const r = spawnSync(process.execPath, ["scripts/dev.mjs"], {
      cwd: root,
      env: { ...process.env, DARKROOM_WORKERS: workers, PORT: "1" },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("DARKROOM_WORKERS must start with api");
  },
);
