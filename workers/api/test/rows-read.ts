/**
 * D1 with the rows each statement read (`meta.rows_read`: rows scanned, indexes included,
 * https://developers.cloudflare.com/d1/worker-api/return-object/) added up: a cost that
 * grows with a scan and not with the machine's load, so tests assert on it, never on time.
 */
export function rowsReadMeter(db: D1Database): { db: D1Database; rowsRead: () => number } {
  let total = 0;
  const add = (result: unknown) => {
    if (result && typeof result === "object" && "meta" in result) {
      const meta: unknown = result.meta;
      if (meta && typeof meta === "object" && "rows_read" in meta) {
        total += typeof meta.rows_read === "number" ? meta.rows_read : 0;
      }
    }
    return result;
  };
  // D1's batch takes its own statements: each proxy remembers the one it wraps.
  const inner = new WeakMap<D1PreparedStatement, D1PreparedStatement>();
  const statement = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => statement(target.bind(...values));
        if (prop === "all" || prop === "run") {
          return async () => add(await target[prop]());
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    inner.set(proxy, stmt);
    return proxy;
  };
  const metered = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => statement(target.prepare(query));
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => inner.get(s) ?? s));
          for (const r of results) add(r);
          return results;
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: metered, rowsRead: () => total };
}
