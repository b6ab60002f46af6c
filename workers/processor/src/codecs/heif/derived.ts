/**
 * HEIF derived images (ISO/IEC 23008-12 6.6.2): grids and overlays, described from their
 * descriptors and the coded images they reference (dimg). The container (container.ts)
 * describes the coded images; the two modules call each other only while parsing.
 */
import { describeItem, findAlpha, type Meta } from "./container";
import { HEIF_LIMITS, HeifError, HeifNeedsMore } from "./errors";
import { declaredFormat, formatName, sameFormat } from "./format";
import { itemData } from "./items";
import type { ImageProperties } from "./properties";
import { Reader } from "./reader";
import type { HeifImageItem } from "./types";

/** A grid: its descriptor, its tiles (dimg, in raster order), checked to cover its output. */
export function describeGrid(
  m: Meta,
  id: number,
  depth: number,
  props: ImageProperties,
): HeifImageItem {
  const { codec } = m;
  if (depth > 0) throw new HeifError("unsupported", "HEIF grids of grids are not supported");
  const r = descriptor(m, id, "grid", 8);
  r.u8();
  const flags = r.u8();
  const rows = r.u8() + 1;
  const columns = r.u8() + 1;
  const outW = flags & 1 ? r.u32() : r.u16();
  const outH = flags & 1 ? r.u32() : r.u16();
  const tileIds = m.refs.find((x) => x.type === "dimg" && x.from === id)?.to ?? [];
  if (rows * columns > HEIF_LIMITS.maxTiles) {
    throw new HeifError(
      "too-large",
      `The HEIF grid has ${rows * columns} tiles; at most ${HEIF_LIMITS.maxTiles} are accepted`,
    );
  }
  if (tileIds.length !== rows * columns) {
    throw new HeifError(
      "corrupt",
      `The HEIF grid is ${columns}x${rows} but lists ${tileIds.length} tiles`,
    );
  }
  m.work.charge(tileIds.length, "grid tiles");
  const tiles = tileIds.map((t) => describeItem(m, t, depth + 1));
  const t0 = tiles[0];
  if (!t0) throw new HeifError("corrupt", "The HEIF grid has no tiles");
  for (const t of tiles) {
    if (t.type !== codec)
      throw new HeifError("unsupported", `A HEIF grid tile is ${t.type}, not ${codec}`);
    if (t.width !== t0.width || t.height !== t0.height) {
      throw new HeifError("corrupt", "The HEIF grid's tiles differ in size");
    }
    // The estimate and the band are sized by the first tile's format.
    const [f, f0] = [declaredFormat(t), declaredFormat(t0)];
    if (f && f0 && !sameFormat(f, f0)) {
      throw new HeifError(
        "corrupt",
        `The HEIF grid's tiles differ in format (${formatName(f0)} and ${formatName(f)})`,
      );
    }
    if (t.transforms.length > 0)
      throw new HeifError(
        "unsupported",
        "HEIF grid tiles with their own transforms are not supported",
      );
  }
  // The tiles must cover the output and no tile column or row may lie wholly outside it.
  if (
    outW === 0 ||
    outH === 0 ||
    t0.width * columns < outW ||
    t0.height * rows < outH ||
    t0.width * (columns - 1) >= outW ||
    t0.height * (rows - 1) >= outH
  ) {
    throw new HeifError(
      "corrupt",
      `The HEIF grid's ${columns}x${rows} tiles of ${t0.width}x${t0.height} do not cover its ${outW}x${outH} image`,
    );
  }
  const { width, height } = props;
  if (width && height && (width !== outW || height !== outH)) {
    throw new HeifError(
      "corrupt",
      `The HEIF grid says ${outW}x${outH} but its ispe says ${width}x${height}`,
    );
  }
  return {
    id,
    type: "grid",
    width: outW,
    height: outH,
    hvcC: null,
    av1C: null,
    nclx: props.nclx ?? t0.nclx,
    icc: props.icc ?? t0.icc,
    transforms: props.transforms,
    bitDepth: props.bitDepth ?? t0.bitDepth,
    coded: null,
    grid: { rows, columns, tiles },
    overlay: null,
  };
}

/** A derived image's descriptor (its item data, one extent), which must lie within `b`. */
function descriptor(m: Meta, id: number, what: "grid" | "iovl", minLength: number): Reader {
  const data = itemData(m.locs, m.idat, m.fileBytes, id);
  m.work.charge(data.extents.length, `a ${what} descriptor's extents`);
  const first = data.extents[0];
  if (!first || data.length < minLength)
    throw new HeifError("corrupt", `The HEIF ${what} descriptor is cut short`);
  // Stored in mdat past a prefix: the probe reads the whole file instead.
  if (first.offset + first.length > m.b.length)
    throw new HeifNeedsMore(`the ${what} descriptor lies past the prefix`);
  return new Reader(m.b, first.offset, first.offset + first.length, what);
}

/**
 * An overlay (iovl): its descriptor (version 0; fill colour, canvas size, one offset per
 * dimg layer), its layers (coded images or grids of the file's codec, HEVC or AV1, each
 * with its alpha plane) as libheif reads them. The canvas is within the coded-edge cap,
 * and so is every layer.
 */
export function describeOverlay(
  m: Meta,
  id: number,
  depth: number,
  props: ImageProperties,
): HeifImageItem {
  if (depth > 0)
    throw new HeifError("unsupported", "HEIF overlays inside other images are not supported");
  const layerIds = m.refs.find((x) => x.type === "dimg" && x.from === id)?.to ?? [];
  if (layerIds.length === 0) throw new HeifError("corrupt", "The HEIF overlay has no images");
  if (layerIds.length > HEIF_LIMITS.maxOverlayLayers) {
    throw new HeifError(
      "too-large",
      `The HEIF overlay has ${layerIds.length} images; at most ${HEIF_LIMITS.maxOverlayLayers} are accepted`,
    );
  }
  const r = descriptor(m, id, "iovl", 2 + 8 + 4 + layerIds.length * 4);
  if (r.u8() !== 0)
    throw new HeifError("unsupported", "This HEIF overlay version is not supported");
  const wide = (r.u8() & 1) === 1;
  const field = () => (wide ? r.u32() : r.u16());
  const signed = () => (wide ? r.i32() : (r.u16() << 16) >> 16);
  const fill: [number, number, number, number] = [r.u16(), r.u16(), r.u16(), r.u16()];
  const width = field();
  const height = field();
  if (
    width === 0 ||
    height === 0 ||
    width > HEIF_LIMITS.maxCodedEdge * 4 ||
    height > HEIF_LIMITS.maxCodedEdge * 4
  ) {
    throw new HeifError("corrupt", `The HEIF overlay's canvas of ${width}x${height} is not a size`);
  }
  if (props.width && props.height && (props.width !== width || props.height !== height)) {
    throw new HeifError(
      "corrupt",
      `The HEIF overlay says ${width}x${height} but its ispe says ${props.width}x${props.height}`,
    );
  }
  m.work.charge(layerIds.length, "overlay images");
  const layers = layerIds.map((layerId) => {
    const x = signed();
    const y = signed();
    const image = describeItem(m, layerId, depth + 1);
    if (image.type === "iovl")
      throw new HeifError("unsupported", "HEIF overlays of overlays are not supported");
    if (image.transforms.length > 0)
      throw new HeifError(
        "unsupported",
        "HEIF overlay images with their own transforms are not supported",
      );
    return { image, alpha: findAlpha(m, image), x, y };
  });
  const first = layers[0]?.image;
  return {
    id,
    type: "iovl",
    width,
    height,
    hvcC: null,
    av1C: null,
    nclx: props.nclx ?? first?.nclx ?? null,
    icc: props.icc ?? first?.icc ?? null,
    transforms: props.transforms,
    bitDepth: 8,
    coded: null,
    grid: null,
    overlay: { fill, layers },
  };
}
