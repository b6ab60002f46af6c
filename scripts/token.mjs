// `npm run token -- <user>`: prints a local HS256 bearer token for <user>, signed with
// AUTH_SECRET from the environment or from .dev.vars (created by `npm run dev`).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sign } from "hono/jwt";

const user = process.argv[2];
if (!user) {
  console.error("usage: npm run token -- <user> [ttl-seconds]");
  process.exit(2);
}
const ttl = Number(process.argv[3] ?? 7 * 24 * 3600);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error(`ttl-seconds must be a positive integer, not ${process.argv[3]}`);
  process.exit(2);
}

function secretFromDevVars() {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const file = fileURLToPath(new URL(`../${name}`, import.meta.url));
    if (!existsSync(file)) continue;
    const m = /^AUTH_SECRET\s*=\s*"?([^"\n]+)"?\s*$/m.exec(readFileSync(file, "utf8"));
    if (m?.[1]) return m[1];
  }
  return undefined;
}

const secret = process.env.AUTH_SECRET ?? secretFromDevVars();
if (!secret) {
  console.error(
    "no AUTH_SECRET: set it in the environment or run `npm run dev` once to create .dev.vars",
  );
  process.exit(1);
}
const now = Math.floor(Date.now() / 1000);
console.log(await sign({ sub: user, iat: now, exp: now + ttl }, secret, "HS256"));
