import { z } from "zod";

// Vars arrive as strings; parse them once so a typo in wrangler.toml fails loudly.
const configSchema = z.object({
  UPLOAD_MODE: z.enum(["local", "r2"]),
  LOCAL_UPLOAD_ORIGIN: z.string(),
  CORS_ALLOWED_ORIGINS: z.string(),
  DEV_LOGIN: z.string(),
  MAX_UPLOAD_BYTES: z.coerce.number().int().positive(),
  RATE_LIMIT_CAPACITY: z.coerce.number().int().positive(),
  RATE_LIMIT_REFILL_PER_MINUTE: z.coerce.number().positive(),
  PENDING_GRACE_SECONDS: z.coerce.number().int().nonnegative(),
  PENDING_IDLE_SECONDS: z.coerce.number().int().nonnegative(),
  R2_BUCKET_NAME: z.string().min(1),
  R2_ACCOUNT_ID: z.string(),
  // JWT subjects, comma-separated: who may use /api/ops. Whitespace around each is
  // dropped; an empty list means nobody.
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
