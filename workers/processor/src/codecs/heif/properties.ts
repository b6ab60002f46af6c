/**
 * Item properties (iprp): the property boxes (ipco), which item has which (ipma), and the
 * reading of the ones the decoders use (ispe, hvcC, av1C, colr, pixi, irot, imir, clap).
 * Any other property is listed but never read.
 */
import type { WorkMeter } from "../../image/work";
import { HEIF_LIMITS, HeifError } from "./errors";
import { type Box, children, Reader } from "./reader";
import type { HeifImageItem, Nclx, Transform } from "./types";

export type Prop = {
  type: string;
  r: () => Reader;
  raw: Uint8Array;
  /** An hvcC parsed once (its parameter sets copied once), however many items share it. */
  hvcC?: NonNullable<HeifImageItem["hvcC"]>;
};

/** The properties in file order, and each item's 1-based indices into them (0: none). */
export type PropertyTables = { props: Prop[]; assoc: Map<number, number[]> };

/**
 * iprp: properties and which item has which. One work unit per property box, per ipma
 * entry and per association; an item may collect at most HEIF_LIMITS.maxAssociations
 * across all its ipma boxes.
 */
export function parseProperties(
  b: Uint8Array,
  iprp: Box | undefined,
  work: WorkMeter,
): PropertyTables {
  const props: Prop[] = [];
  const assoc = new Map<number, number[]>();
  if (!iprp) return { props, assoc };
  const parts = children(b, iprp.body, iprp.end, "iprp", work);
  const ipco = parts.find((x) => x.type === "ipco");
  if (ipco) {
    for (const p of children(b, ipco.body, ipco.end, "ipco", work, HEIF_LIMITS.maxProperties)) {
      props.push({
        type: p.type,
        r: () => new Reader(b, p.body, p.end, p.type),
        raw: b.subarray(p.body, p.end),
      });
    }
  }
  for (const ipma of parts.filter((x) => x.type === "ipma")) {
    const r = new Reader(b, ipma.body, ipma.end, "ipma");
    const version = r.u8();
    const flags = (r.u8() << 16) | r.u16();
    const count = r.u32();
    if (count > HEIF_LIMITS.maxItems)
      throw new HeifError("too-large", "The HEIF file associates too many items");
    for (let i = 0; i < count; i++) {
      const id = version < 1 ? r.u16() : r.u32();
      const n = r.u8();
      work.charge(1 + n, "property associations (ipma)");
      const list = assoc.get(id) ?? [];
      if (list.length + n > HEIF_LIMITS.maxAssociations) {
        throw new HeifError(
          "too-large",
          `The HEIF item ${id} has more than ${HEIF_LIMITS.maxAssociations} property associations`,
        );
      }
      for (let k = 0; k < n; k++)
        list.push((flags & 1 ? r.u16() : r.u8()) & (flags & 1 ? 0x7fff : 0x7f));
      assoc.set(id, list);
    }
  }
  return { props, assoc };
}

/** The properties associated with item `id`, in the order ipma lists them. */
export function propertiesOf({ props, assoc }: PropertyTables, id: number): Prop[] {
  return (assoc.get(id) ?? [])
    .map((i) => {
      if (i === 0) return null;
      const p = props[i - 1];
      if (!p)
        throw new HeifError("corrupt", `A HEIF item refers to property ${i}, which does not exist`);
      return p;
    })
    .filter((p): p is Prop => p !== null);
}

/** What an image item's properties say; 0 / null where the property is absent. */
export type ImageProperties = {
  width: number;
  height: number;
  hvcC: HeifImageItem["hvcC"];
  av1C: Uint8Array | null;
  nclx: Nclx | null;
  icc: Uint8Array | null;
  bitDepth: number | null;
  transforms: Transform[];
};

/**
 * Reads the properties the decoders use: transforms in file order; of the others, the
 * last wins. An hvcC is parsed (and its parameter sets copied, charged by their size)
 * once per property, not once per item that names it.
 */
export function readImageProperties(ps: Prop[], work: WorkMeter): ImageProperties {
  const out: ImageProperties = {
    width: 0,
    height: 0,
    hvcC: null,
    av1C: null,
    nclx: null,
    icc: null,
    bitDepth: null,
    transforms: [],
  };
  for (const p of ps) {
    work.charge(1, "an item property");
    const r = p.r();
    switch (p.type) {
      case "ispe":
        r.u32();
        out.width = r.u32();
        out.height = r.u32();
        break;
      case "hvcC":
        if (!p.hvcC) {
          work.bytes(p.raw.length, "an hvcC box");
          p.hvcC = parseHvcC(r);
        }
        out.hvcC = p.hvcC;
        break;
      case "av1C":
        out.av1C = p.raw;
        break;
      case "colr": {
        const kind = r.fourcc();
        if (kind === "nclx") {
          out.nclx = {
            primaries: r.u16(),
            transfer: r.u16(),
            matrix: r.u16(),
            fullRange: (r.u8() & 0x80) !== 0,
          };
        } else if (kind === "prof" || kind === "rICC") {
          out.icc = r.bytes(r.end - r.p);
        }
        break;
      }
      case "pixi": {
        r.u32();
        const n = r.u8();
        if (n > 0) out.bitDepth = r.u8();
        break;
      }
      case "irot":
        out.transforms.push({ kind: "irot", quarterTurnsCcw: r.u8() & 3 });
        break;
      case "imir":
        out.transforms.push({ kind: "imir", axis: (r.u8() & 1) as 0 | 1 });
        break;
      case "clap":
        out.transforms.push(parseClap(r));
        break;
    }
  }
  return out;
}

function parseClap(r: Reader): Transform {
  const wn = r.u32();
  const wd = r.u32();
  const hn = r.u32();
  const hd = r.u32();
  const hon = r.i32();
  const hod = r.u32();
  const von = r.i32();
  const vod = r.u32();
  if (!wd || !hd || !hod || !vod)
    throw new HeifError("corrupt", "The HEIF clean aperture (clap) divides by zero");
  return {
    kind: "clap",
    width: wn / wd,
    height: hn / hd,
    horizOff: hon / hod,
    vertOff: von / vod,
  };
}

function parseHvcC(r: Reader): NonNullable<HeifImageItem["hvcC"]> {
  r.u8(); // configurationVersion
  r.bytes(15); // profile, tier, level, constraint flags, min_spatial_segmentation, parallelism
  const chromaFormat = r.u8() & 3;
  const bitDepth = (r.u8() & 7) + 8;
  const bitDepthChroma = (r.u8() & 7) + 8;
  r.u16(); // avgFrameRate
  const nalLengthSize = (r.u8() & 3) + 1;
  const arrays = r.u8();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < arrays; i++) {
    r.u8(); // array_completeness, NAL unit type
    const n = r.u16();
    for (let k = 0; k < n; k++) {
      const len = r.u16();
      const nal = r.bytes(len);
      const prefixed = new Uint8Array(4 + len);
      new DataView(prefixed.buffer).setUint32(0, len);
      prefixed.set(nal, 4);
      parts.push(prefixed);
      total += prefixed.length;
    }
  }
  const nals = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    nals.set(p, o);
    o += p.length;
  }
  return { nals, nalLengthSize, chromaFormat, bitDepth, bitDepthChroma };
}
