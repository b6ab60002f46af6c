import { z } from "zod";

// The one reader of a worker's vars (issue 21: five dialects became this one). A var
// arrives as a string from wrangler.toml `[vars]` (or a number, when the toml writes one
// unquoted). One rule for all of them:
// - unset, or empty (after trimming), means the default: `X = ""` in a toml is how a
//   deployment says "not set", never 0 (what `z.coerce.number()` made of it);
// - a number is a plain decimal ("60", "0.5"): `Number("1e3")` and `Number("0x10")` are
//   numbers nobody writes in a toml by intent, and are refused;
// - a number is checked against its bounds;
// - a refusal names the var and the value it had.

/** An empty or whitespace-only string is the same as an unset var. */
function blankToUnset(value: unknown): unknown {
  if (typeof value === "string" && value.trim() === "") return undefined;
  return value;
}

const DECIMAL = /^\d+(\.\d+)?$/;

export type NumberBounds = {
  /** Inclusive lower bound; 0 unless set. */
  min?: number;
  /** Inclusive upper bound; unbounded unless set. */
  max?: number;
  /** Must be more than 0 (for a rate, a lease or a size that must exist). */
  positive?: boolean;
  /** Must be a whole number. */
  integer?: boolean;
};

/**
 * A numeric var: the default when unset or empty, else a plain decimal within `bounds`.
 * Use inside `readVars`' shape.
 */
export function numberVar(fallback: number, bounds: NumberBounds = {}) {
  const { min = 0, max = Number.POSITIVE_INFINITY, positive = false, integer = false } = bounds;
  const number = z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .pipe(z.string().regex(DECIMAL, 'must be a plain decimal number, like "60"'))
    .transform(Number)
    .refine((n) => !positive || n > 0, "must be more than 0")
    .refine((n) => n >= min, `must be at least ${min}`)
    .refine((n) => n <= max, `must be at most ${max}`)
    .refine((n) => !integer || Number.isInteger(n), "must be a whole number");
  return z.preprocess(blankToUnset, number.optional()).transform((n) => n ?? fallback);
}

/**
 * Any other var (a string, an enum, a URL…): the default when unset or empty, else what
 * `schema` admits. `schema` sees only non-empty values.
 */
export function optionalVar<T extends z.ZodType>(schema: T, fallback: z.output<T>) {
  return z
    .preprocess(blankToUnset, schema.optional())
    .transform((v): z.output<T> => (v === undefined ? fallback : v));
}

/**
 * Parses `env` with `shape` (built from `numberVar`, `optionalVar` and, for vars every
 * environment must set, plain zod). Throws one Error listing each bad var as
 * `NAME = "value" why`, prefixed with `what` ("Invalid limit", "Invalid processor var"…).
 */
export function readVars<S extends z.ZodRawShape>(
  shape: S,
  env: object,
  what: string,
): z.output<z.ZodObject<S>> {
  const parsed = z.object(shape).safeParse(env, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join(".");
    const value =
      "input" in issue && issue.input !== undefined ? JSON.stringify(issue.input) : "unset";
    return `${name} = ${value} ${issue.message}`;
  });
  throw new Error(`${what}: ${problems.join("; ")}`);
}
