import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { everyShard, withShards } from "../../../test/workerd/shards";
import { sweep } from "../src/sweeper";
import { fileFor, jpegBytes, makeEnv, requestUploads, tokenFor, uidFor, userName } from "./helpers";

const HOUR = 3_600_000;

/** A `pending` asset whose URL expired long ago and whose bytes never arrived. */
async function expiredPending() {
  const user = userName();
  const token = await tokenFor(user);
  const file = await fileFor(jpegBytes(64));
  const { body } = await requestUploads(token, [file]);
  const assetId = body.files[0]?.assetId ?? "";
  const longAgo = Date.now() - HOUR;
  await everyShard
    .prepare("UPDATE assets SET expires_at = ?, updated_at = ? WHERE id = ?")
    .bind(longAgo, longAgo, assetId)
    .run();
  const resume = (e?: Env) =>
    requestUploads(token, [{ ...file, clientId: crypto.randomUUID() }], {
      batchId: body.batchId,
      env: e,
    });
  return { uid: await uidFor(user), assetId, batchId: body.batchId, resume };
}

/**
 * D1 that runs `hook` (once) before the first statement whose SQL `matches` executes,
 * alone or in a batch.
 */
function hookBeforeStatement(db: D1Database, matches: RegExp, hook: () => Promise<unknown>) {
  let pending: (() => Promise<unknown>) | null = hook;
  const gate = async () => {
    const h = pending;
    pending = null;
    if (h) await h();
  };
  // Batches need the real statements: remember each wrapper's statement and SQL.
  const real = new WeakMap<object, { stmt: D1PreparedStatement; sql: string }>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const proxy: D1PreparedStatement = new Proxy(stmt, {
      get(target, prop, receiver) {
        if (prop === "bind") return (...values: unknown[]) => wrap(target.bind(...values), sql);
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (matches.test(sql) && ["run", "all", "raw", "first"].includes(String(prop))) {
          return async (...args: unknown[]) => {
            await gate();
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    real.set(proxy, { stmt, sql });
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (prop === "batch") {
        return async (stmts: D1PreparedStatement[]) => {
          const unwrapped = stmts.map((s) => real.get(s) ?? { stmt: s, sql: "" });
          if (unwrapped.some((u) => matches.test(u.sql))) await gate();
          return target.batch(unwrapped.map((u) => u.stmt));
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The R2 bucket with `hook` run before or after the sweeper's existence check (head). */
function hookAroundHead(when: "before" | "after", hook: () => Promise<unknown>): R2Bucket {
  return new Proxy(env.BUCKET, {
    get(target, prop, receiver) {
      if (prop === "head") {
        return async (key: string) => {
          if (when === "before") await hook();
          const head = await target.head(key);
          if (when === "after") await hook();
          return head;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function state(assetId: string) {
  const row = await everyShard
    .prepare("SELECT status, version FROM assets WHERE id = ?")
    .bind(assetId)
    .first<{ status: string; version: number }>();
  const items = await everyShard
    .prepare("SELECT batch_id FROM batch_items WHERE asset_id = ?")
    .bind(assetId)
    .all<{ batch_id: string }>();
  return { row, batches: items.results.map((r) => r.batch_id) };
}

describe("a client resuming while the sweeper expires its pending asset", () => {
  it.each(["before", "after"] as const)(
    "keeps the asset and its batch membership when the resume lands %s the R2 check",
    async (when) => {
      const a = await expiredPending();
      const got: { answer?: Awaited<ReturnType<typeof a.resume>> } = {};
      const { env: e } = makeEnv({
        BUCKET: hookAroundHead(when, async () => {
          got.answer ??= await a.resume();
        }),
      });

      await sweep(e);

      expect(got.answer?.body.files[0]).toMatchObject({ assetId: a.assetId, status: "upload" });
      // The resume bumped the version: the sweep's delete (of the version it read) missed.
      expect(await state(a.assetId)).toEqual({
        row: { status: "pending", version: 2 },
        batches: [a.batchId],
      });
    },
  );

  it("never leaves the client a URL for a deleted asset when the resume lands between the two deletes", async () => {
    const a = await expiredPending();
    const got: { answer?: Awaited<ReturnType<typeof a.resume>> } = {};
    const { env: e } = makeEnv(
      withShards(env, (db) =>
        hookBeforeStatement(db, /^delete from "batch_items"/i, async () => {
          got.answer = await a.resume();
        }),
      ),
    );

    const report = await sweep(e);

    expect(report.expired).toBeGreaterThanOrEqual(1);
    // The expired asset and its membership are gone; the resume found no row and made a
    // new asset, which keeps its own membership in the same batch.
    expect(await state(a.assetId)).toEqual({ row: null, batches: [] });
    const fresh = got.answer?.body.files[0];
    expect(fresh).toMatchObject({ status: "upload" });
    expect(fresh?.assetId).not.toBe(a.assetId);
    expect(await state(fresh?.assetId ?? "")).toEqual({
      row: { status: "pending", version: 1 },
      batches: [a.batchId],
    });
  });

  it("answers a conflict to retry, never a URL for a deleted row, when the sweep lands inside the resume", async () => {
    const a = await expiredPending();
    // The resume reads the row as pending, then the sweep deletes it before the resume
    // writes: its versioned UPDATE finds nothing.
    const { env: e } = makeEnv(
      withShards(env, (db) =>
        hookBeforeStatement(db, /^update "assets"/i, () => sweep(makeEnv().env)),
      ),
    );
    const raced = await a.resume(e);

    expect(raced.res.status).toBe(409);
    expect(await state(a.assetId)).toEqual({ row: null, batches: [] });
    const retried = await a.resume();
    expect(retried.body.files[0]).toMatchObject({ status: "upload" });
    expect(await state(retried.body.files[0]?.assetId ?? "")).toMatchObject({
      row: { status: "pending" },
      batches: [a.batchId],
    });
  });
});
