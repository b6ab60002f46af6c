/**
 * The HEIF container (ISO/IEC 23008-12 on ISOBMFF, ISO/IEC 14496-12): just enough of it to
 * find the primary image, its coded data (one HEVC/AV1 image, or the tiles of a grid), its
 * properties (size, transforms, colour, codec configuration), its alpha plane and its
 * EXIF block. Everything else (thumbnails, depth maps, HDR gain maps, XMP) is skipped
 * without being read. Every length is checked against the file before it is used, and
 * every count against a cap, so a hostile file costs at most a pass over its box headers.
 */
import type { WorkMeter } from "../../image/work";
import { av1SequenceSizes } from "./av1";
import { describeGrid, describeOverlay } from "./derived";
import { HEIF_LIMITS, HeifError, HeifNeedsMore } from "./errors";
import { formatName, sameFormat } from "./format";
import {
  type Item,
  itemData,
  type Loc,
  parseItems,
  parseLocations,
  parsePrimaryId,
  parseRefs,
  type Ref,
} from "./items";
import {
  type ImageProperties,
  type PropertyTables,
  parseProperties,
  propertiesOf,
  readImageProperties,
} from "./properties";
import { ascii, type Box, children, ftypBrands, Reader } from "./reader";
import { Spans } from "./spans";
import { hvcCSps, inBandSps, type Sps } from "./sps";
import type { CodedImage, HeifFile, HeifImageItem } from "./types";

/** The meta box's tables, read once; every item's description looks things up in them. */
export type Meta = {
  b: Uint8Array;
  fileBytes: number;
  codec: "hvc1" | "av01";
  items: Map<number, Item>;
  locs: Map<number, Loc>;
  idat: Box | undefined;
  refs: Ref[];
  properties: PropertyTables;
  work: WorkMeter;
  /** Coded items described once, however many grid tiles or references name them. */
  described: Map<number, HeifImageItem>;
};

/**
 * Parses the container. `codec`: which coded images the caller decodes (hvc1 for HEIC,
 * av01 for AVIF): the primary image must be of that kind or a grid of it. Every box,
 * entry and item visited is charged to `work`.
 */
export function parseHeif(
  b: Uint8Array,
  codec: "hvc1" | "av01",
  fileBytes: number,
  work: WorkMeter,
): HeifFile {
  const { ftyp, meta } = metaBoxes(b, fileBytes, work);
  const find = (t: string) => meta.find((x) => x.type === t);

  const hdlr = find("hdlr");
  if (!hdlr || ascii(b, hdlr.body + 8, 4) !== "pict") {
    throw new HeifError("corrupt", "The HEIF meta box is not a picture (hdlr)");
  }
  const primaryId = parsePrimaryId(b, find("pitm"));
  const m: Meta = {
    b,
    fileBytes,
    codec,
    items: parseItems(b, find("iinf"), work),
    locs: parseLocations(b, find("iloc"), work),
    idat: find("idat"),
    refs: parseRefs(b, find("iref"), work),
    properties: parseProperties(b, find("iprp"), work),
    work,
    described: new Map(),
  };

  const primary = describeItem(m, primaryId, 0);
  const alpha = findAlpha(m, primary);
  const exif = findExif(m, primaryId);
  return { majorBrand: ftyp.major, brands: ftyp.brands, primary, alpha, exif };
}

/** The ftyp brands and the children of the meta box, which must lie within `b`. */
function metaBoxes(
  b: Uint8Array,
  fileBytes: number,
  work: WorkMeter,
): { ftyp: NonNullable<ReturnType<typeof ftypBrands>>; meta: Box[] } {
  const top = children(b, 0, fileBytes, "file", work);
  const ftyp = ftypBrands(b);
  if (!ftyp) throw new HeifError("corrupt", "The HEIF file has no ftyp box");
  const metaBox = top.find((x) => x.type === "meta");
  if (metaBox && metaBox.end > b.length)
    throw new HeifNeedsMore("the meta box ends past the prefix");
  if (!metaBox) {
    if (b.length < fileBytes) throw new HeifNeedsMore("no meta box in the prefix");
    if (top.some((x) => x.type === "moov")) {
      throw new HeifError(
        "unsupported",
        "This HEIF file is an image sequence (burst or animation) without a still image; export the photo you want as a still HEIC or JPEG",
      );
    }
    throw new HeifError(
      "corrupt",
      "The HEIF file has no meta box (truncated, or not a HEIF image)",
    );
  }
  // meta is a FullBox: 4 bytes of version and flags before its children.
  return { ftyp, meta: children(b, metaBox.body + 4, metaBox.end, "meta", work) };
}

export function describeItem(m: Meta, id: number, depth: number): HeifImageItem {
  m.work.charge(1, `HEIF image ${id}`);
  const known = m.described.get(id);
  if (known) return known;
  const item = m.items.get(id);
  if (!item) throw new HeifError("corrupt", `The HEIF file's image ${id} is not in its item list`);
  const props = readImageProperties(propertiesOf(m.properties, id), m.work);
  if (item.type === "grid") return describeGrid(m, id, depth, props);
  if (item.type === "iovl") return describeOverlay(m, id, depth, props);
  const coded = describeCoded(m, item, props);
  m.described.set(id, coded);
  return coded;
}

/** A single coded image (a tile or a whole photo) of the caller's codec, within the limits. */
function describeCoded(m: Meta, item: Item, props: ImageProperties): HeifImageItem {
  const { codec } = m;
  const { id } = item;
  const { width, height, hvcC, av1C } = props;
  if (item.type !== codec) {
    throw new HeifError(
      "unsupported",
      item.type === "hvc1" || item.type === "av01"
        ? `The file's ftyp says ${codec === "hvc1" ? "HEIC" : "AVIF"} but its image is ${item.type === "hvc1" ? "HEVC" : "AV1"}`
        : `HEIF images coded as ${item.type.replace(/[^\x20-\x7e]/g, "?")} are not supported`,
    );
  }
  if (!width || !height) throw new HeifError("corrupt", `The HEIF image ${id} has no size (ispe)`);
  if (width > HEIF_LIMITS.maxCodedEdge || height > HEIF_LIMITS.maxCodedEdge) {
    throw new HeifError(
      "too-large",
      `A HEIF coded image of ${width}x${height} is larger than ${HEIF_LIMITS.maxCodedEdge} pixels on an edge`,
    );
  }
  if (codec === "hvc1" && !hvcC) {
    throw new HeifError("corrupt", "The HEIC image has no decoder configuration (hvcC)");
  }
  if (codec === "av01" && !av1C) {
    throw new HeifError("corrupt", "The AVIF image has no decoder configuration (av1C)");
  }
  const coded = itemData(m.locs, m.idat, m.fileBytes, id);
  m.work.charge(coded.extents.length, "an image's data extents");
  checkBitstreamSize(m, id, width, height, hvcC, av1C, coded);
  return {
    id,
    type: codec,
    width,
    height,
    hvcC,
    av1C,
    nclx: props.nclx,
    icc: props.icc,
    transforms: props.transforms,
    bitDepth: props.bitDepth,
    coded,
    grid: null,
    overlay: null,
  };
}

/**
 * The coded bitstream must not be larger than the container says (`ispe`), since the
 * decoders allocate from the bitstream's own header and the memory estimate from `ispe`:
 * HEVC's SPS (hvcC's and any sent in-band; its coded size may exceed the shown size by
 * the conformance window, less than one 64-pixel CTB), AV1's sequence headers (av1C's
 * configOBUs and the item's own OBUs). An HEVC SPS must also code the sample format hvcC
 * declares, which the estimate and the decoder's band are sized by (AV1's is checked the
 * same way against av1C by dav1d's own header parser before any picture: avif.ts). The
 * item's data is read only where it lies within `b` (from a prefix it is checked again on
 * the whole file, before any decoder runs).
 */
function checkBitstreamSize(
  m: Meta,
  id: number,
  width: number,
  height: number,
  hvcC: HeifImageItem["hvcC"],
  av1C: Uint8Array | null,
  coded: CodedImage,
): void {
  const inPrefix = coded.extents.every((x) => x.offset + x.length <= m.b.length);
  const data = inPrefix ? new Spans(m.b, coded) : null;
  let sizes: Array<{ width: number; height: number } | null>;
  let slack: number;
  let what: string;
  try {
    if (hvcC) {
      what = "HEVC parameter set (SPS)";
      slack = 64;
      const sps = [hvcCSps(hvcC.nals)];
      if (data) sps.push(...inBandSps(data, hvcC.nalLengthSize, m.work));
      if (sps[0] === null)
        throw new HeifError("corrupt", "The HEIC image's parameter sets (hvcC) are unreadable");
      checkSpsFormat(id, hvcC, sps);
      sizes = sps;
    } else if (av1C) {
      what = "AV1 sequence header";
      slack = 0;
      // av1C: 4 bytes of marker, version, profile, level and flags, then configOBUs.
      sizes = av1SequenceSizes(av1C.subarray(4), m.work);
      if (data) sizes.push(...av1SequenceSizes(data, m.work));
      if (sizes.length === 0 && data)
        throw new HeifError("corrupt", `The AVIF image ${id} has no AV1 sequence header`);
    } else return;
  } catch (err) {
    if (err instanceof RangeError)
      throw new HeifError(
        "corrupt",
        `The HEIF image ${id}'s coded data is corrupt (${err.message})`,
      );
    throw err;
  }
  for (const s of sizes) {
    if (s === null)
      throw new HeifError("corrupt", `The HEIF image ${id} carries an unreadable ${what}`);
    if (s.width > width + slack || s.height > height + slack) {
      throw new HeifError(
        "corrupt",
        `The HEIF image ${id}'s ${what} says ${s.width}x${s.height} but its ispe says ${width}x${height}`,
      );
    }
  }
}

/** Every readable SPS codes the format hvcC declares (an unreadable one is refused after). */
function checkSpsFormat(
  id: number,
  hvcC: NonNullable<HeifImageItem["hvcC"]>,
  sps: Array<Sps | null>,
): void {
  const said = {
    chroma: hvcC.chromaFormat,
    depth: hvcC.bitDepth,
    depthChroma: hvcC.bitDepthChroma,
  };
  for (const s of sps) {
    if (s && !sameFormat(s, said)) {
      throw new HeifError(
        "corrupt",
        `The HEIC image ${id}'s HEVC parameter set (SPS) codes ${formatName(s)} but its hvcC says ${formatName(said)}`,
      );
    }
  }
}

/**
 * Alpha: an auxiliary image (auxl → primary) whose auxC type says alpha. Other
 * auxiliaries (depth, HDR gain maps) and thumbnails are never described or decoded.
 */
export function findAlpha(m: Meta, primary: HeifImageItem): HeifImageItem | null {
  for (const ref of m.refs) {
    m.work.charge(1, "an item reference");
    if (ref.type !== "auxl" || !ref.to.includes(primary.id)) continue;
    const auxC = propertiesOf(m.properties, ref.from).find((p) => p.type === "auxC");
    if (!auxC) continue;
    const r = auxC.r();
    r.u32();
    const urn = r.cstring();
    if (
      urn === "urn:mpeg:hevc:2015:auxid:1" ||
      urn === "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"
    ) {
      const a = describeItem(m, ref.from, 0);
      if (a.width !== primary.width || a.height !== primary.height) {
        throw new HeifError(
          "unsupported",
          "A HEIF alpha plane of another size than its image is not supported",
        );
      }
      return a;
    }
  }
  return null;
}

/**
 * EXIF: an "Exif" item describing (cdsc) the primary image; 4 bytes give the offset of
 * the TIFF header within what follows.
 */
function findExif(m: Meta, primaryId: number): Uint8Array | null {
  const { b } = m;
  for (const ref of m.refs) {
    m.work.charge(1, "an item reference");
    if (
      ref.type !== "cdsc" ||
      !ref.to.includes(primaryId) ||
      m.items.get(ref.from)?.type !== "Exif"
    )
      continue;
    try {
      const d = itemData(m.locs, m.idat, m.fileBytes, ref.from);
      const x = d.extents[0];
      if (!x || d.extents.length !== 1 || x.length < 8 || x.length > 1024 * 1024) continue;
      if (x.offset + x.length > b.length) continue; // past a prefix: read from the whole file
      const off = new Reader(b, x.offset, x.offset + x.length, "Exif").u32();
      if (off + 4 + 8 <= x.length) return b.subarray(x.offset + 4 + off, x.offset + x.length);
    } catch {
      // metadata is best effort: a broken EXIF item never fails the photo
    }
    return null;
  }
  return null;
}
