import { env } from "cloudflare:workers";
import { EMBED_LEASE_MS, PROCESSED_IDLE_MS } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { dbOf, everyShard } from "../../../test/workerd/shards";
import { sweep } from "../src/sweeper";
import { makeEnv, signIn } from "./helpers";

/** An asset in `status`, last touched `idleMs` ago, claimed `claimAgeMs` ago (or never). */
async function assetIn(
  uid: string,
  status: "processed" | "embedding" | "ready",
  idleMs: number,
  claimAgeMs: number | null = null,
): Promise<string> {
  const id = crypto.randomUUID();
  const now = Date.now();
  await (await dbOf(uid))
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       claimed_at, created_at, updated_at)
     VALUES (?, ?, ?, 'a.jpg', 10, 'image/jpeg', ?, ?, 5, ?, ?, ?)`,
    )
    .bind(
      id,
      uid,
      crypto.randomUUID(),
      id.replaceAll("-", "").padEnd(64, "0"),
      status,
      claimAgeMs === null ? null : now - claimAgeMs,
      now - idleMs,
      now - idleMs,
    )
    .run();
  return id;
}

function embedsSentFor(sent: { queue: string; body: unknown }[], id: string) {
  return sent.filter((s) => s.queue === "embed" && JSON.stringify(s.body).includes(id));
}

describe("sweeper: the embedding stage", () => {
  it("re-sends the embed message of a processed asset idle past the timeout, once per period", async () => {
    const me = await signIn();
    const id = await assetIn(me.uid, "processed", PROCESSED_IDLE_MS + 60_000);
    const { env: e, sent } = makeEnv();

    const report = await sweep(e);

    expect(report.reembedded).toBeGreaterThanOrEqual(1);
    expect(embedsSentFor(sent, id)).toEqual([
      { queue: "embed", body: { assetId: id, uid: me.uid } },
    ]);
    const row = await everyShard
      .prepare("SELECT status, version FROM assets WHERE id = ?")
      .bind(id)
      .first();
    // The touch is a write like any other: one version more, and its event.
    expect(row).toEqual({ status: "processed", version: 6 });
    const { events } = await env.USER_HUB.get(env.USER_HUB.idFromName(me.uid)).eventsSince(0);
    expect(events.filter((ev) => ev.assetId === id)).toMatchObject([
      { status: "processed", version: 6 },
    ]);
    // Touched: the next sweep leaves it to the embedder for another period.
    await sweep(e);
    expect(embedsSentFor(sent, id)).toHaveLength(1);
  });

  it("leaves a processed asset alone while its message may still be queued", async () => {
    const me = await signIn();
    const id = await assetIn(me.uid, "processed", PROCESSED_IDLE_MS - 60_000);
    const { env: e, sent } = makeEnv();

    await sweep(e);

    expect(embedsSentFor(sent, id)).toEqual([]);
  });

  it.each([
    ["older than the lease", EMBED_LEASE_MS + 60_000],
    ["released and never retried", null],
  ])("re-sends the embed message of an embedding asset whose claim is %s", async (_, claimAge) => {
    const me = await signIn();
    const id = await assetIn(me.uid, "embedding", EMBED_LEASE_MS + 60_000, claimAge);
    const { env: e, sent } = makeEnv();

    await sweep(e);

    expect(embedsSentFor(sent, id)).toEqual([
      { queue: "embed", body: { assetId: id, uid: me.uid } },
    ]);
  });

  it("leaves an embedding asset alone while its claim is live", async () => {
    const me = await signIn();
    const id = await assetIn(me.uid, "embedding", 60_000, 60_000);
    const { env: e, sent } = makeEnv();

    await sweep(e);

    expect(embedsSentFor(sent, id)).toEqual([]);
  });

  it("honours PROCESSED_IDLE_SECONDS and EMBED_LEASE_SECONDS shortened by the deployment", async () => {
    const me = await signIn();
    // Both well within the defaults (10 and 5 minutes), past the shortened 20 s.
    const processed = await assetIn(me.uid, "processed", 60_000);
    const embedding = await assetIn(me.uid, "embedding", 60_000, 60_000);
    const defaults = makeEnv();
    await sweep(defaults.env);
    expect(embedsSentFor(defaults.sent, processed)).toEqual([]);
    expect(embedsSentFor(defaults.sent, embedding)).toEqual([]);

    const short = makeEnv({}, { PROCESSED_IDLE_SECONDS: "20", EMBED_LEASE_SECONDS: "20" });
    await sweep(short.env);

    expect(embedsSentFor(short.sent, processed)).toEqual([
      { queue: "embed", body: { assetId: processed, uid: me.uid } },
    ]);
    expect(embedsSentFor(short.sent, embedding)).toEqual([
      { queue: "embed", body: { assetId: embedding, uid: me.uid } },
    ]);
  });

  it("never re-sends for ready assets", async () => {
    const me = await signIn();
    const id = await assetIn(me.uid, "ready", PROCESSED_IDLE_MS * 10);
    const { env: e, sent } = makeEnv();

    await sweep(e);

    expect(embedsSentFor(sent, id)).toEqual([]);
  });
});
