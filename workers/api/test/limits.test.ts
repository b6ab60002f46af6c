import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LIMITS, limits } from "../src/lib/limits/limits";
import { signIn } from "./helpers";

describe("the limits table", () => {
  it("gives every limit its default when no var sets it", () => {
    const l = limits({});
    for (const [key, entry] of Object.entries(LIMITS)) {
      expect(l[key as keyof typeof l]).toBe(entry.default);
    }
  });

  it("takes a var over the default", () => {
    const l = limits({ COST_RETRY: "2", SEARCH_RATE_CAPACITY: "5", COST_LISTED_FILE: "0" });
    expect(l.costRetry).toBe(2);
    expect(l.searchCapacity).toBe(5);
    expect(l.costListedFile).toBe(0);
  });

  it("refuses a malformed var, naming it and its value", () => {
    expect(() => limits({ SEARCH_RATE_CAPACITY: "0" })).toThrow(
      /SEARCH_RATE_CAPACITY = "?0"? must be more than 0/,
    );
    expect(() => limits({ MAX_SOCKETS_PER_USER: "2.5" })).toThrow("MAX_SOCKETS_PER_USER");
    expect(() => limits({ COST_RETRY: "1e3" })).toThrow("COST_RETRY");
  });
});

it("carries a hub's one bucket of before over as its work bucket", async () => {
  const { uid } = await signIn();
  const stub = env.USER_HUB.get(env.USER_HUB.idFromName(uid));
  await runInDurableObject(stub, (_hub, state) => {
    const sql = state.storage.sql;
    sql.exec("DELETE FROM buckets");
    sql.exec(`CREATE TABLE bucket (
      id INTEGER PRIMARY KEY CHECK (id = 1), tokens REAL NOT NULL, refilled_at INTEGER NOT NULL)`);
    sql.exec("INSERT INTO bucket (id, tokens, refilled_at) VALUES (1, 7, ?)", Date.now());
  });
  await evictDurableObject(stub);
  const rl = await stub.take("work", 0);
  expect(rl.remaining).toBe(7);
  expect((await stub.take("search", 0)).remaining).toBe(LIMITS.searchCapacity.default);
});
