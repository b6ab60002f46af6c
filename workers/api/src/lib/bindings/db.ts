import type { Db } from "@darkroom/shared";
import { drizzle } from "drizzle-orm/d1";

export function db(env: Env): Db {
  return drizzle(env.DB);
}

/** D1 allows at most 100 bound parameters per statement: split IN lists. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
