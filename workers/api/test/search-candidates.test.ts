import { env } from "cloudflare:workers";
import { RANKED_CANDIDATES, searchText, upsertSearchDoc } from "@darkroom/shared";
import { describe, expect, it } from "vitest";

/** Documents of one user, inserted oldest first (rowid grows with insertion). */
async function docs(uid: string, names: string[]): Promise<string[]> {
  const ids = names.map(() => crypto.randomUUID());
  await env.DB_0.batch(
    names.map((name, i) =>
      upsertSearchDoc(env.DB_0, {
        assetId: ids[i] ?? "",
        uid,
        name,
        exif: "",
        labels: [],
        caption: "",
      }),
    ),
  );
  return ids;
}

describe("full-text ranking", () => {
  it("ranks only the newest candidates when a word matches more than the cap", async () => {
    const uid = crypto.randomUUID();
    // The best match (the word three times in a short name) is the oldest document.
    const [best] = await docs(uid, ["lake lake lake"]);
    await docs(
      uid,
      Array.from({ length: 30 }, (_, i) => `lake trip ${i} with many other words in the name`),
    );
    const all = await searchText(env.DB_0, uid, "lake", 5, 100);
    expect(all[0]?.assetId).toBe(best);
    // A cap of 10: the 10 newest matches are ranked, the oldest (best) is not among them.
    const capped = await searchText(env.DB_0, uid, "lake", 5, 10);
    expect(capped).toHaveLength(5);
    expect(capped.map((h) => h.assetId)).not.toContain(best);
    // Under the cap, the same answer as ranking everything.
    expect(await searchText(env.DB_0, uid, "lake", 5)).toEqual(all);
    expect(RANKED_CANDIDATES).toBeGreaterThan(31);
  });

  it("scores a user's documents from their own text, whatever the shard's other users hold", async () => {
    const uid = crypto.randomUUID();
    await docs(uid, ["harbour at dusk", "the harbour, the boats and the harbour wall", "quay"]);
    const before = await searchText(env.DB_0, uid, "harbour", 5);
    expect(before).toHaveLength(2);
    // Another user of the same database fills it with the word, and with other words.
    const other = crypto.randomUUID();
    await docs(
      other,
      Array.from({ length: 40 }, (_, i) => `harbour ${i} quay`),
    );
    expect(await searchText(env.DB_0, uid, "harbour", 5)).toEqual(before);
    // Two matches in a name outrank one in a shorter name.
    expect(before[0]?.score).toBeGreaterThan(before[1]?.score ?? Number.POSITIVE_INFINITY);
  });
});
