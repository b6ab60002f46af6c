import { z } from "zod";

/**
 * Full-text search without AI: FTS5 over `search_docs` (migrations/0002_search_index.sql).
 *
 * User text never reaches MATCH as syntax: it is cut into words (runs of letters,
 * digits and combining marks, which is what the unicode61 tokenizer indexes), each word
 * becomes a quoted prefix phrase (`"word"*`), and the words are ANDed inside a column
 * filter that leaves out `user_key`. A stray `"`, `AND`, `NEAR(`, `*` or `:` is just
 * punctuation or a word to look for, never an error.
 */

/** At most this many words of a query are used. */
export const MAX_QUERY_TERMS = 12;

/** The user id as a single FTS token; MATCH is always scoped by it. */
export function userKey(uid: string): string {
  return `u${uid.replaceAll("-", "").toLowerCase()}`;
}

export function queryTerms(q: string): string[] {
  const words =
    q
      .normalize("NFKC")
      .toLowerCase()
      .match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
  return [...new Set(words.map((w) => w.slice(0, 64)))].slice(0, MAX_QUERY_TERMS);
}

/** The MATCH expression for a user's query; null when it has no words at all. */
export function matchExpression(uid: string, q: string): string | null {
  const terms = queryTerms(q);
  if (terms.length === 0) return null;
  const phrases = terms.map((t) => `"${t.replaceAll('"', '""')}"*`).join(" ");
  return `user_key : "${userKey(uid)}" AND {name exif labels caption} : (${phrases})`;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** EXIF fields as searchable words: "Canon EOS 5D 2021 March 2021-03-14". */
export function exifWords(
  make: string | null,
  model: string | null,
  takenAt: number | null,
): string {
  const words = [make, model].filter((w): w is string => Boolean(w?.trim()));
  if (takenAt !== null && Number.isFinite(takenAt)) {
    const d = new Date(takenAt);
    if (!Number.isNaN(d.getTime())) {
      words.push(
        String(d.getUTCFullYear()),
        MONTHS[d.getUTCMonth()] ?? "",
        d.toISOString().slice(0, 10),
      );
    }
  }
  return words.join(" ").trim();
}

export type SearchDoc = {
  assetId: string;
  uid: string;
  name: string;
  exif: string;
  labels: readonly string[];
  caption: string;
};

/** Adds or replaces an asset's document (the triggers update the FTS index). */
export function upsertSearchDoc(db: D1Database, doc: SearchDoc): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO search_docs (asset_id, user_id, user_key, name, exif, labels, caption)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (asset_id) DO UPDATE SET name = excluded.name, exif = excluded.exif,
         labels = excluded.labels, caption = excluded.caption
       WHERE search_docs.user_id = excluded.user_id`,
    )
    .bind(
      doc.assetId,
      doc.uid,
      userKey(doc.uid),
      doc.name,
      doc.exif,
      doc.labels.join(", "),
      doc.caption,
    );
}

const hitSchema = z.object({ asset_id: z.string(), score: z.number() });

/**
 * Matches ranked per query, at most. FTS5 scores every match before ORDER BY can pick the
 * best, so a word in every name of a 200,000-photo library scored 200,000 rows per search
 * (403 ms, issue 22). The candidates are the user's newest RANKED_CANDIDATES matches
 * (FTS5 walks them in rowid order, newest first, without scoring the rest; a document's
 * rowid grows with its insertion), ranked among themselves. A query with fewer matches
 * ranks them all, exactly as before (docs/search.md).
 */
export const RANKED_CANDIDATES = 2000;

/** The indexed columns after `user_key` (FTS5 column 0), with their weight in the score. */
const SCORED_COLUMNS = [
  { column: 1, name: "name", weight: 4 },
  { column: 2, name: "exif", weight: 2 },
  { column: 3, name: "labels", weight: 3 },
  { column: 4, name: "caption", weight: 1 },
] as const;

/**
 * A document's score from its own text only: per column, the query's matches in it
 * (FTS5 `highlight` marks each with one character: the marked text's extra length),
 * weighted, and damped by the column's length (a match in a short name counts more than
 * one in a long caption). Not bm25: bm25's inverse document frequencies walk every
 * document holding each phrase, the `user_key` phrase included, so a rare word cost time
 * in proportion to the user's whole library (bench:scale: 64 → 231 ms from 2,000 to
 * 200,000 photos), and counted the other users of the shard into the ranking.
 */
const SCORE = SCORED_COLUMNS.map(
  ({ column, name, weight }) =>
    `${weight}.0 * (length(highlight(search_fts, ${column}, char(1), '')) - length(d.${name})) / (1 + length(d.${name}) / 64.0)`,
).join(" + ");

/** The user's documents matching `q`, best first (SCORE, higher is better). */
export async function searchText(
  db: D1Database,
  uid: string,
  q: string,
  limit: number,
  candidates = RANKED_CANDIDATES,
): Promise<{ assetId: string; score: number }[]> {
  const match = matchExpression(uid, q);
  if (!match) return [];
  const { results } = await db
    .prepare(
      `SELECT asset_id, score FROM (
         SELECT d.asset_id AS asset_id, ${SCORE} AS score
         FROM search_fts JOIN search_docs AS d ON d.id = search_fts.rowid
         WHERE search_fts MATCH ? AND d.user_id = ?
         ORDER BY search_fts.rowid DESC LIMIT ?
       ) ORDER BY score DESC, asset_id LIMIT ?`,
    )
    .bind(match, uid, candidates, limit)
    .all();
  return results.flatMap((r) => {
    const hit = hitSchema.safeParse(r);
    return hit.success ? [{ assetId: hit.data.asset_id, score: hit.data.score }] : [];
  });
}
