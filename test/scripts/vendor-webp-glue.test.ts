// The WebP encoder's vendored glue must be the installed @jsquash/webp's (its WASM is
// loaded from the package): an upgrade without `node scripts/vendor-webp-glue.mjs` would
// pair new WASM with old glue.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VENDORED_GLUE, vendoredGlue } from "../../scripts/vendor-webp-glue.mjs";

describe("the vendored WebP encoder glue", () => {
  it("is the installed @jsquash/webp's, with only its byte-copy loop replaced", () => {
    expect(readFileSync(VENDORED_GLUE, "utf8") === vendoredGlue().text).toBe(true);
  });
});
