// av1.wasm area-averages an AVIF's rows where they are made (wasm/av1/resize.c): it must
// give what the JS RowResizer gives for the same rows, bit for bit, on every path (the
// row window, a grid's bands, alpha, 10-bit, a crop).
import { describe, expect, it } from "vitest";
import { decodeAvifFit } from "../src/codecs/heif/avif";
import { probeHeif } from "../src/image/probe-heif";
import { RowResizer } from "../src/image/row-resize";
import av1Wasm from "../wasm/av1/av1.wasm";
import { fixture } from "./fixtures";

const MB = 1024 * 1024;

describe("AVIF rows resized inside av1.wasm", () => {
  for (const name of [
    "av1-420.avif",
    "av1-alpha.avif",
    "av1-grid.avif",
    "av1-clap.avif",
    "p3-nclx-10bit.avif",
  ]) {
    for (const shrink of [1.5, 3, 7.3]) {
      it(`gives ${name} at 1/${shrink} bit for bit as the JS RowResizer`, () => {
        const bytes = fixture(name);
        const { heif } = probeHeif(bytes, "avif");
        // Full size: the rows come out as RGBA untouched (nothing to resize).
        const full = decodeAvifFit(
          bytes,
          heif,
          av1Wasm,
          (w, h) => ({ width: w, height: h }),
          64 * MB,
        );
        const { width, height, data } = full.value;
        const dw = Math.max(1, Math.round(width / shrink));
        const dh = Math.max(1, Math.round(height / shrink));
        const js = new RowResizer(width, height, dw, dh);
        for (let y = 0; y < height; y++) js.push(data.subarray(y * width * 4, (y + 1) * width * 4));
        const wasm = decodeAvifFit(
          bytes,
          heif,
          av1Wasm,
          () => ({ width: dw, height: dh }),
          64 * MB,
        );
        const expected = js.finish();
        expect([wasm.value.width, wasm.value.height]).toEqual([dw, dh]);
        let differing = 0;
        for (let i = 0; i < expected.data.length; i++)
          if (wasm.value.data[i] !== expected.data[i]) differing++;
        expect(differing).toBe(0);
      });
    }
  }
});
