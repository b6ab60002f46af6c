import { ORIGINALS_BUCKET_NAME } from "@darkroom/shared";
import { R2_JURISDICTIONS } from "@darkroom/shared/production-requirements";
import { z } from "zod";

// The api's vars, parsed once per use so a typo in wrangler.toml fails loudly. Each
// default lives here (or, for the lifecycle timings, in packages/shared/src/lifecycle/leases.ts)
// and nowhere else: wrangler.toml sets only what differs between environments.

// Vars arrive as strings: coerced, checked, else the default when the var is absent.
const count = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

// Rate limits and costs have their own table: lib/limits.ts.
const configSchema = z.object({
  // Set per environment in wrangler.toml ([vars] for local dev, [env.production.vars]).
  UPLOAD_MODE: z.enum(["local", "r2"]),
  CORS_ALLOWED_ORIGINS: z.string(),
  DEV_LOGIN: z.string(),
  R2_ACCOUNT_ID: z.string(),
  // The same everywhere unless a deployment says otherwise.
  /** Origin used in local upload URLs; empty means the origin of the request. */
  LOCAL_UPLOAD_ORIGIN: z.string().default(""),
  /** 50 MiB: the largest original accepted. */
  MAX_UPLOAD_BYTES: positiveInt(50 * 1024 * 1024),
  /** Past its URL's expiry, a `pending` asset without bytes waits this long before the sweeper deletes it. */
  PENDING_GRACE_SECONDS: count(600),
  /** A `pending` asset untouched this long is looked at by the sweeper. */
  PENDING_IDLE_SECONDS: count(60),
  R2_BUCKET_NAME: z.string().min(1).default(ORIGINALS_BUCKET_NAME),
  /**
   * JWT subjects, comma-separated: who may use /api/ops and sees the Ops tab. Whitespace
   * around each is dropped; empty (the default) means nobody. A deployment sets it in
   * its `[env.production.vars]`; locally `OPERATOR_SUBS=you npm run dev`.
   */
  OPERATOR_SUBS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((sub) => sub.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().max(255))),
  /**
   * The bucket's jurisdiction, empty for none: its S3 endpoint is then
   * https://<R2_ACCOUNT_ID>.<jurisdiction>.r2.cloudflarestorage.com (lib/upload-urls.ts).
   * Every R2 binding carries the same `jurisdiction`; `npm run deploy` checks they agree.
   */
  R2_JURISDICTION: z.enum(["", ...R2_JURISDICTIONS]).default(""),
  // Empty: https://<R2_ACCOUNT_ID>.r2.cloudflarestorage.com (lib/upload-urls.ts).
  // The bucket's S3 endpoint for presigned PUTs. Set it for a jurisdiction bucket
  // (https://<R2_ACCOUNT_ID>.eu.r2.cloudflarestorage.com); the production-path browser
  // test points it at wrangler dev's local S3 endpoint.
  R2_S3_ENDPOINT: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]).default(""),
});

export type Config = z.infer<typeof configSchema> & {
  devLogin: boolean;
  corsOrigins: string[];
};

export function config(env: Env): Config {
  const parsed = configSchema.parse(env);
  return {
    ...parsed,
    devLogin: parsed.DEV_LOGIN === "true",
    corsOrigins: parsed.CORS_ALLOWED_ORIGINS.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** Upload URLs are valid for 15 minutes. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
