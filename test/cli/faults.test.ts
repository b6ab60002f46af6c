import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseFaults, withFaults } from "../../packages/shared/src/faults";

const root = fileURLToPath(new URL("../..", import.meta.url));

function fakeBucket() {
  const puts: string[] = [];
  const bucket = {
    puts,
    async put(key: string) {
      puts.push(key);
      return null;
    },
    async head() {
      return null;
    },
  };
  return bucket as typeof bucket & R2Bucket;
}

describe("fault injection", () => {
  it("is inert without DARKROOM_FAULTS: same env, one delivery", async () => {
    const env = { BUCKET: fakeBucket() };
    const f = withFaults(env, () => 0);
    expect(f.env).toBe(env);
    let calls = 0;
    await f.deliver(async () => {
      calls += 1;
    })(env, {});
    expect(calls).toBe(1);
    expect(withFaults({ ...env, DARKROOM_FAULTS: "" }).env.BUCKET).toBe(env.BUCKET);
  });

  it("fails R2 puts and repeats deliveries at the configured rates", async () => {
    const bucket = fakeBucket();
    const f = withFaults(
      { BUCKET: bucket, DARKROOM_FAULTS: "r2-put:0.5,dup-delivery:0.5" },
      () => 0.4,
    );
    await expect(f.env.BUCKET.put("k", "v")).rejects.toThrow(/injected fault/);
    expect(bucket.puts).toEqual([]);
    let calls = 0;
    await f.deliver(async () => {
      calls += 1;
    })(f.env, {});
    expect(calls).toBe(2);
    const calm = withFaults({ BUCKET: bucket, DARKROOM_FAULTS: "r2-put:0.5" }, () => 0.9);
    await calm.env.BUCKET.put("k", "v");
    expect(bucket.puts).toEqual(["k"]);
  });

  it("refuses an unknown fault or a rate outside [0, 1]", () => {
    expect(() => parseFaults("r2-put:2")).toThrow(/rate/);
    expect(() => parseFaults("disk-full:0.1")).toThrow(/unknown fault/);
  });

  it("is declared in no wrangler.toml, so no deployed worker can have it", () => {
    for (const config of [
      "wrangler.toml",
      "workers/processor/wrangler.toml",
      "workers/embedder/wrangler.toml",
    ]) {
      expect(readFileSync(path.join(root, config), "utf8"), config).not.toContain(
        "DARKROOM_FAULTS",
      );
    }
  });
});
