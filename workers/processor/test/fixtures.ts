import { env } from "cloudflare:workers";

/** One of test/fixtures/images as bytes. */
export function fixture(name: string): Uint8Array {
  const b64 = env.FIXTURES[name];
  if (b64 === undefined) throw new Error(`no fixture ${name}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
