// `npm run move-user -- <uid> <shard>`: moves user <uid> (the internal user id, as the
// ops routes show it) to shard <shard>, online (DESIGN.md, "Sharding: moving a user";
// docs/operations.md, "Growing the shards"). Calls the operator route
// POST /api/ops/users/<uid>/move on DARKROOM_URL (default http://localhost:8787) with an
// operator's bearer token in DARKROOM_TOKEN (a subject listed in OPERATOR_SUBS; locally
// `npm run token -- <operator>`). Run again after a failure: a move left half done
// resumes, one that was undone starts over, one already done is a no-op.
// `--status` only prints where the user lives and their assets per shard.
const args = process.argv.slice(2);
const statusOnly = args[0] === "--status";
if (statusOnly) args.shift();
const [uid, shardArg] = args;
const shard = Number(shardArg);
if (!uid || (!statusOnly && (!Number.isInteger(shard) || shard < 0))) {
  console.error(
    "usage: npm run move-user -- <uid> <shard>   |   npm run move-user -- --status <uid>",
  );
  process.exit(2);
}
const token = process.env.DARKROOM_TOKEN;
if (!token) {
  console.error("DARKROOM_TOKEN must hold an operator's bearer token (OPERATOR_SUBS)");
  process.exit(2);
}
const base = (process.env.DARKROOM_URL || "http://localhost:8787").replace(/\/$/, "");
const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
const url = `${base}/api/ops/users/${encodeURIComponent(uid)}`;

const res = statusOnly
  ? await fetch(url, { headers })
  : await fetch(`${url}/move`, { method: "POST", headers, body: JSON.stringify({ shard }) });
const text = await res.text();
if (!res.ok) {
  console.error(`${res.status} ${text}`);
  process.exit(1);
}
console.log(text);
