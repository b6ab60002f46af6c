/**
 * Work units: what reading a file's structure may cost, counted and capped. Every
 * container parser (HEIF boxes, item tables, associations, references, extents, grid
 * tiles, NAL units and OBUs; PNG chunks; JPEG markers and scans; GIF blocks; RIFF chunks)
 * charges one unit per structural element it visits, and one per WORK_BYTES_PER_UNIT
 * bytes it reads or copies beyond a header. The budget grows with the file's size, so a
 * parse that visits each element once never runs out; what runs out is work that grows
 * faster than the file (an element visited again and again: the association and tile
 * storms of issue 20), which is then refused in milliseconds instead of minutes.
 */
import { ImageError } from "./errors";

/** Units every file may spend whatever its size (a tiny photo's few dozen boxes and chunks). */
export const WORK_BASE_UNITS = 65_536;

/**
 * Units per byte of the file beyond the base: every element costs at least one byte (an
 * `ipma` association), most far more (a box or chunk header is 8-12 bytes), so one visit
 * of each stays well inside.
 */
export const WORK_UNITS_PER_BYTE = 0.5;

/** Bytes read or copied (a parameter set, a descriptor) that cost one unit. */
export const WORK_BYTES_PER_UNIT = 256;

/** The work budget of a file of `fileBytes` bytes. */
export function workLimit(fileBytes: number): number {
  return WORK_BASE_UNITS + Math.ceil(fileBytes * WORK_UNITS_PER_BYTE);
}

/** A file's structure needs more work than its size allows. */
export class WorkExhausted extends ImageError {
  override readonly name = "WorkExhausted";
}

/** The units one file's parse has spent, against its budget. */
export class WorkMeter {
  spent = 0;
  constructor(readonly limit: number) {}

  /** A meter for a whole file of this size. */
  static forFile(fileBytes: number): WorkMeter {
    return new WorkMeter(workLimit(fileBytes));
  }

  /** Spends `units` (visiting `what`); refuses `too_large` past the budget. */
  charge(units: number, what: string): void {
    this.spent += units;
    if (this.spent > this.limit) {
      throw new WorkExhausted(
        "too_large",
        `The file's structure costs more than ${this.limit} work units to read (at ${what}); a file of its size needs far fewer`,
      );
    }
  }

  /** Charges for reading or copying `bytes` bytes (at least one unit). */
  bytes(bytes: number, what: string): void {
    this.charge(1 + Math.floor(bytes / WORK_BYTES_PER_UNIT), what);
  }
}
