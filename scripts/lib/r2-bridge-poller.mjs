// The other half of `npm run dev:prod`'s notification bridge (scripts/lib/r2-bridge.mjs):
// starts the bridge worker in a wrangler process of its own, watches the local bucket
// through its S3 endpoint (ListObjectsV2, signed with the local keys like any S3 client)
// and has the bridge announce each new original once, as R2's object-create notification
// rule of README step 5 would (object-create, suffix /original). Keys already announced
// are kept in the state dir, so a restart does not announce old uploads again.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AwsClient } from "aws4fetch";
import { log, root } from "./dev-runner.mjs";
import { freePort } from "./stack.mjs";

const INTERVAL_MS = 500;
/** README step 5: `--suffix /original`. */
const SUFFIX = "/original";

/** The objects of a bucket, through the S3 API (ListObjectsV2, every page). */
async function listObjects(s3, bucketUrl) {
  const out = [];
  let token;
  do {
    const url = new URL(bucketUrl);
    url.searchParams.set("list-type", "2");
    url.searchParams.set("prefix", "u/");
    if (token) url.searchParams.set("continuation-token", token);
    const res = await s3.fetch(url, { signal: AbortSignal.timeout(30_000) });
    const xml = await res.text();
    if (!res.ok) throw new Error(`ListObjectsV2: HTTP ${res.status} ${xml.slice(0, 200)}`);
    for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const field = (name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(m[1])?.[1] ?? "";
      out.push({
        key: unescapeXml(field("Key")),
        size: Number(field("Size")),
        // S3 quotes ETags; R2's notification carries the bare value.
        eTag: unescapeXml(field("ETag")).replace(/^"|"$/g, ""),
      });
    }
    token =
      /<IsTruncated>true<\/IsTruncated>/.test(xml) &&
      unescapeXml(/<NextContinuationToken>([^<]*)</.exec(xml)?.[1] ?? "");
  } while (token);
  return out;
}

function unescapeXml(s) {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

/**
 * Starts the bridge (`wrangler dev` of its generated config) and the watch.
 * @returns {Promise<{ stop: () => void }>}
 */
export async function startBridge({
  config,
  env,
  stateDir,
  token,
  bucketUrl,
  s3Credentials,
  stopping,
}) {
  const port = await freePort();
  const child = spawn(
    "wrangler",
    [
      "dev",
      "-c",
      config,
      "--env",
      "production",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      stateDir,
      "--show-interactive-dev-session=false",
    ],
    { cwd: root, env, stdio: ["ignore", "ignore", "inherit"], detached: true },
  );
  const bridge = `http://127.0.0.1:${port}`;
  const killGroup = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone
    }
  };
  child.on("exit", (code) => {
    if (!stopping()) log(`r2 notification bridge exited (code ${code})`);
  });
  // Up when it refuses a request without the token.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await fetch(`${bridge}/notify`, { method: "POST" }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 401) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      killGroup();
      throw new Error("the r2 notification bridge did not start");
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const file = path.join(stateDir, "r2-bridge-notified.json");
  const notified = new Set(existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : []);
  const s3 = new AwsClient({ ...s3Credentials, service: "s3", region: "auto" });
  let failing = false;
  let stopped = false;
  let timer;
  const poll = async () => {
    try {
      const objects = await listObjects(s3, bucketUrl);
      const fresh = objects.filter((o) => o.key.endsWith(SUFFIX) && !notified.has(o.key));
      for (const object of fresh) {
        const sent = await fetch(`${bridge}/notify`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: JSON.stringify(object),
          signal: AbortSignal.timeout(30_000),
        });
        if (sent.status !== 202) throw new Error(`POST /notify: HTTP ${sent.status}`);
        notified.add(object.key);
      }
      if (fresh.length > 0) writeFileSync(file, JSON.stringify([...notified]));
      if (failing) log("r2 notification bridge works again");
      failing = false;
    } catch (err) {
      if (!failing && !stopping()) log(`r2 notification bridge failed: ${err.message}`);
      failing = true;
    }
    if (!stopped && !stopping()) timer = setTimeout(poll, INTERVAL_MS);
  };
  void poll();
  log(`r2 notifications: bridged from the bucket's S3 listing by ${bridge} (token required)`);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      killGroup();
    },
  };
}
