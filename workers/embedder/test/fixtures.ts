import { env } from "cloudflare:workers";

/** The committed thumbs of test/fixtures (see make-fixtures.mjs), by file name. */
export const FIXTURES = [
  "saw.thumb.webp",
  "saw-copy.thumb.webp",
  "waterfall.thumb.webp",
  "concert.thumb.webp",
  "park.thumb.webp",
  "note.thumb.webp",
] as const;
export type FixtureName = (typeof FIXTURES)[number];

export function fixtureBytes(name: string): Uint8Array {
  const b64 = env.TEST_FIXTURES[name];
  if (b64 === undefined) throw new Error(`no fixture ${name}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
