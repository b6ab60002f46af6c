// av1.wasm area-averages an AVIF's rows where they are made (wasm/av1/resize.c): it must
// give what the JS RowResizer gives for the same rows, bit for bit, on every path (the
// row window, a grid's bands, alpha, 10-bit, a crop), with the planar path off; with it
// on (the default), an opaque image's Y, Cb and Cr are averaged before the colour
// conversion, within ±1 of converting first.
import { describe, expect, it } from "vitest";
import { decodeAvifFit } from "../src/codecs/heif/avif";
import { probeHeif } from "../src/image/probe-heif";
import { RowResizer } from "../src/image/row-resize";
import av1Wasm from "../wasm/av1/av1.wasm";
import { fixture } from "./fixtures";

const MB = 1024 * 1024;

/** The file decoded at full size through the RGBA path (rows untouched: nothing to resize). */
function fullSize(bytes: Uint8Array, heif: ReturnType<typeof probeHeif>["heif"]) {
  const same = (w: number, h: number) => ({ width: w, height: h });
  return decodeAvifFit(bytes, heif, av1Wasm, same, 64 * MB, { planar: false }).value;
}

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
        const { width, height, data } = fullSize(bytes, heif);
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
          { planar: false },
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

describe("AVIF rows resized as planes (Y, Cb, Cr) inside av1.wasm", () => {
  // Every layout and depth, a grid's bands, a crop, intra block copy (decoded whole);
  // alpha and a gamut step take the RGBA path, so they come out the same either way.
  const files = [
    "av1-420.avif",
    "av1-422-10bit.avif",
    "av1-444-12bit.avif",
    "av1-grid.avif",
    "av1-clap.avif",
    "av1-intrabc.avif",
    "photo.avif",
    "av1-alpha.avif",
    "p3-nclx-10bit.avif",
  ];
  for (const name of files) {
    for (const shrink of [1.5, 3, 7.3]) {
      it(`gives ${name} at 1/${shrink} within 1 of converting first, but where a colour clamped`, () => {
        const bytes = fixture(name);
        const { heif } = probeHeif(bytes, "avif");
        const full = fullSize(bytes, heif);
        const fit = (w: number, h: number) => ({
          width: Math.max(1, Math.round(w / shrink)),
          height: Math.max(1, Math.round(h / shrink)),
        });
        const rgba = decodeAvifFit(bytes, heif, av1Wasm, fit, 64 * MB, { planar: false }).value;
        const planar = decodeAvifFit(bytes, heif, av1Wasm, fit, 64 * MB).value;
        expect([planar.width, planar.height]).toEqual([rgba.width, rgba.height]);
        // Averaging Y, Cb, Cr and then converting is converting and then averaging, but for
        // the 8-bit rounding (±1) and the clamp to [0, 255]: a channel may differ by more
        // only where a pixel of its source area had a channel clamped at 0 or 255.
        const rx = full.width / rgba.width;
        const ry = full.height / rgba.height;
        const clampedIn = (x: number, y: number) => {
          for (
            let sy = Math.floor(y * ry);
            sy < Math.min(full.height, Math.ceil((y + 1) * ry));
            sy++
          )
            for (
              let sx = Math.floor(x * rx);
              sx < Math.min(full.width, Math.ceil((x + 1) * rx));
              sx++
            )
              for (let c = 0; c < 3; c++) {
                const v = full.data[(sy * full.width + sx) * 4 + c];
                if (v === 0 || v === 255) return true;
              }
          return false;
        };
        let off = 0;
        let unexplained = 0;
        let sum = 0;
        for (let i = 0; i < rgba.data.length; i++) {
          const d = Math.abs((planar.data[i] ?? 0) - (rgba.data[i] ?? 0));
          sum += d;
          if (d <= 1) continue;
          off++;
          const p = i >> 2;
          if (!clampedIn(p % rgba.width, Math.floor(p / rgba.width))) unexplained++;
        }
        expect(unexplained).toBe(0);
        expect(off / rgba.data.length).toBeLessThan(0.05);
        expect(sum / rgba.data.length).toBeLessThan(0.5);
      });
    }
  }
});
