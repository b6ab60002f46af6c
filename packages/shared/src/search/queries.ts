import { z } from "zod";
import { type AiBinding, embedText, textEmbeddingModel } from "./ai";
import { DESCRIPTOR_DIMENSIONS } from "./constants";
import { blobToVector } from "./d1-vector-index";
import { queryTerms, searchText } from "./fts";
import { type SearchBindings, type VectorHome, vectorIndex } from "./vector-index";
import type { VectorMatch } from "./vector-types";

/**
 * `semantic`: the query is embedded by the text model and matched against caption and
 * label vectors (needs the AI binding). `text`: FTS5 over file names, EXIF words, labels
 * and captions (always available; the fallback when AI fails).
 */
export type SearchMode = "semantic" | "text";

/** Candidates fetched beyond `limit`, for the ones the caller drops (not `ready`). */
const SLACK = 10;

export function searchMode(env: { AI?: AiBinding }): SearchMode {
  return env.AI ? "semantic" : "text";
}

/** The user's assets matching `q`, best first (candidates: the caller keeps `ready` ones). */
export async function searchAssets(
  env: SearchBindings & { AI?: AiBinding; AI_TEXT_EMBEDDING_MODEL?: string },
  store: VectorHome & { readonly uid: string },
  q: string,
  limit: number,
): Promise<{ mode: SearchMode; matches: VectorMatch[] }> {
  // A query with no words (only punctuation) matches nothing, in either mode.
  if (queryTerms(q).length === 0) return { mode: searchMode(env), matches: [] };
  if (env.AI) {
    let query: Float32Array | null = null;
    try {
      query = await embedText(env.AI, q, textEmbeddingModel(env));
    } catch (err) {
      // Rate-limited or down: the full-text index has captions and labels too.
      console.warn("search: AI unavailable, falling back to full-text", String(err));
    }
    if (query) {
      const matches = await vectorIndex(env, store, "text").query(store.uid, query, limit + SLACK);
      return { mode: "semantic", matches };
    }
  }
  return { mode: "text", matches: await searchText(store.d1, store.uid, q, limit + SLACK) };
}

const featuresSchema = z.object({ descriptor: z.unknown() });

/**
 * The user's assets that look most like this one (visual descriptor, cosine), best
 * first, never the asset itself; null when the asset has no descriptor yet.
 */
export async function similarAssets(
  env: SearchBindings,
  store: VectorHome & { readonly uid: string },
  assetId: string,
  limit: number,
): Promise<VectorMatch[] | null> {
  const row = featuresSchema.safeParse(
    await store.d1
      .prepare("SELECT descriptor FROM asset_features WHERE asset_id = ? AND user_id = ?")
      .bind(assetId, store.uid)
      .first(),
  );
  const descriptor = row.success ? blobToVector(row.data.descriptor, DESCRIPTOR_DIMENSIONS) : null;
  if (!descriptor) return null;
  const matches = await vectorIndex(env, store, "descriptor").query(
    store.uid,
    descriptor,
    limit + 1 + SLACK,
  );
  return matches.filter((m) => m.assetId !== assetId);
}
