import { type Column, type SQL, sql } from "drizzle-orm";

/**
 * `column = value` as a filter the query planner may not use an index for (SQLite's unary
 * `+`, https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_). For a
 * condition beside a primary-key `id IN (…)`: SQLite, without statistics, prefers an index
 * on the filter's columns (`assets_user_status` for user and status) over the key, and then
 * walks every row of the user's library to find a few ids (search's answer took 47 → 131 ms
 * from 2,000 to 200,000 photos, bench:scale). With this the ids are looked up by key and
 * each found row checked against the filter.
 */
export function filterOnly(column: Column, value: unknown): SQL {
  return sql`+${column} = ${value}`;
}
