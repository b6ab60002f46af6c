import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { guardD1, TooManyParams } from "./helpers";

it("the D1 guard refuses a statement with more than 100 bound parameters", async () => {
  const db = guardD1(env.DB_0);
  const params = Array.from({ length: 101 }, (_, i) => i);
  const sql = `SELECT ${params.map(() => "?").join(" + ")} AS n`;
  expect(() => db.prepare(sql).bind(...params)).toThrow(TooManyParams);
});

it("the D1 guard lets 100 parameters through, also inside a batch", async () => {
  const db = guardD1(env.DB_0);
  const params = Array.from({ length: 100 }, () => 1);
  const stmt = db.prepare(`SELECT ${params.map(() => "?").join(" + ")} AS n`).bind(...params);
  const [r] = await db.batch<{ n: number }>([stmt]);
  expect(r?.results[0]?.n).toBe(100);
});
