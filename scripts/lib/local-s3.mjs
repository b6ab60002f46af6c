// The local S3 endpoint wrangler dev serves for the api's bucket (R2's S3 API over the same
// local bucket the workers read; https://developers.cloudflare.com/r2/local-development/)
// and its keys, which live in one place: the bucket's `local_dev` in wrangler.toml.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Path of the local S3 API on the dev server (miniflare's R2_S3 route). */
export const LOCAL_S3_PATH = "/cdn-cgi/local/r2/s3";

/** @returns {{ accessKeyId: string, secretAccessKey: string }} */
export function localS3Credentials(config = "wrangler.toml") {
  const toml = readFileSync(path.join(root, config), "utf8");
  const m =
    /experimental_s3_credentials\s*=\s*\{\s*accessKeyId\s*=\s*"([^"]+)"\s*,\s*secretAccessKey\s*=\s*"([^"]+)"/.exec(
      toml,
    );
  if (!m?.[1] || !m[2]) {
    throw new Error(`${config} has no local_dev.experimental_s3_credentials for the bucket`);
  }
  return { accessKeyId: m[1], secretAccessKey: m[2] };
}
