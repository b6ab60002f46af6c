// The planar path (Y, Cb, Cr averaged, then converted) against the RGBA path (converted,
// then averaged) on the same files, to the 1440 preview: the largest difference of any
// channel, how many channels differ by more than 1, and the mean difference.
//   node workers/processor/wasm/av1/bench-notes/bundle.mjs planar-diff.ts /tmp/av1-planar-diff.mjs
//   node /tmp/av1-planar-diff.mjs FILE.avif...
import { decodeAvifFit } from "../../../src/codecs/heif/avif";
import { fitLongEdge } from "../../../src/image/resize";
import av1 from "../av1.wasm";
import { probedAvifs } from "./avif-files";

const fit = (w: number, h: number) => fitLongEdge(w, h, Number(process.env.EDGE ?? 1440));
for (const { file, bytes, h } of probedAvifs(process.argv.slice(2))) {
  const rgba = decodeAvifFit(bytes, h.heif, av1, fit, 1 << 30, { planar: false }).value;
  const planar = decodeAvifFit(bytes, h.heif, av1, fit, 1 << 30).value;
  let worst = 0;
  let over1 = 0;
  let sum = 0;
  for (let i = 0; i < rgba.data.length; i++) {
    const d = Math.abs((rgba.data[i] ?? 0) - (planar.data[i] ?? 0));
    worst = Math.max(worst, d);
    if (d > 1) over1++;
    sum += d;
  }
  console.log(
    `${file}: ${rgba.width}x${rgba.height}, max ${worst}, channels off by > 1: ${over1} of ${rgba.data.length}, mean ${(sum / rgba.data.length).toFixed(4)}`,
  );
}
