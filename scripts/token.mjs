// `npm run token -- <user> [ttl-seconds]`: a local HS256 bearer token for <user>, signed
// with AUTH_SECRET from the environment or from .dev.vars (created by `npm run dev`).
// `npm run token -- --prod <user> [ttl-seconds]`: a token of `npm run dev:prod`'s local
// issuer (ES256, iss/aud/sub/iat/exp, typ JWT, kid), signed with the key kept in
// <DARKROOM_STATE_DIR>/issuer/ (default .wrangler/state-prod, dev:prod's default): set
// DARKROOM_STATE_DIR as the stack was started with. Tokens stay valid across restarts
// of that stack (same key, same issuer port when it is free).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "hono/jwt";
import { issuedToken } from "./lib/local-issuer.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const prod = args[0] === "--prod";
if (prod) args.shift();
const user = args[0];
if (!user) {
  console.error("usage: npm run token -- [--prod] <user> [ttl-seconds]");
  process.exit(2);
}
const ttl = Number(args[1] ?? 7 * 24 * 3600);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error(`ttl-seconds must be a positive integer, not ${args[1]}`);
  process.exit(2);
}

if (prod) {
  const stateDir = path.resolve(root, process.env.DARKROOM_STATE_DIR || ".wrangler/state-prod");
  try {
    console.log(issuedToken(stateDir, user, { ttlSeconds: ttl }));
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  process.exit(0);
}

function secretFromDevVars() {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const file = path.join(root, name);
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
