import type { z } from "zod";
import { z as zod } from "zod";
import { BadRequest } from "../../errors";

export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what: string,
): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success)
    throw new BadRequest("invalid_request", `Invalid ${what}`, zod.flattenError(r.error));
  return r.data;
}
