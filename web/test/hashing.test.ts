import { describe, expect, it } from "vitest";
import { type EntryLike, filesFromEntries } from "../src/files-from-drop";
import { Sha256 } from "../src/sha256";
import { classify, sniffType } from "../src/sniff";

describe("incremental SHA-256", () => {
  it("matches crypto.subtle's digest for any chunking and length", async () => {
    for (const len of [0, 1, 55, 56, 63, 64, 65, 1000, 200_003]) {
      const data = new Uint8Array(len);
      for (let off = 0; off < len; off += 65536)
        crypto.getRandomValues(data.subarray(off, off + 65536));
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
      const expected = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
      const h = new Sha256();
      for (let off = 0; off < len; off += 7919) h.update(data.subarray(off, off + 7919));
      expect(h.hex(), `length ${len}`).toBe(expected);
    }
  });
});

describe("type check", () => {
  const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const webp = new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 ");

  const ftyp = (major: string, ...compatible: string[]) =>
    new TextEncoder().encode(
      `\0\0\0${String.fromCharCode(16 + 4 * compatible.length)}ftyp${major}\0\0\0\0${compatible.join("")}`,
    );
  const heic = ftyp("heic", "mif1", "heic");
  const gif = new TextEncoder().encode("GIF89a");

  it("recognises jpeg, png, webp, gif, heic/heif and avif by their magic bytes", () => {
    expect([sniffType(jpeg), sniffType(png), sniffType(webp), sniffType(gif)]).toEqual([
      "image/jpeg",
      "image/png",
      "image/webp",
      "image/gif",
    ]);
    for (const brand of ["heic", "heix", "hevc", "heim", "heis"])
      expect(sniffType(ftyp(brand)), brand).toBe("image/heic");
    // Generic HEIF majors: the compatible brands decide.
    expect(sniffType(ftyp("mif1", "heic"))).toBe("image/heic");
    expect(sniffType(ftyp("msf1", "msf1", "iso8"))).toBe("image/heif");
    expect(sniffType(ftyp("mif1", "avif", "miaf"))).toBe("image/avif");
    expect(sniffType(ftyp("avis", "msf1"))).toBe("image/avif");
    // An MP4 is an ftyp file too, and not a photo.
    expect(sniffType(ftyp("isom", "mp41"))).toBeNull();
    expect(sniffType(new TextEncoder().encode("<svg"))).toBeNull();
  });

  it("lets the bytes decide, never the declared type (browsers declare .heic as '' or octet-stream)", () => {
    expect(classify("", 10, heic)).toEqual({ ok: true, type: "image/heic" });
    expect(classify("application/octet-stream", 10, heic)).toEqual({
      ok: true,
      type: "image/heic",
    });
    expect(classify("image/png", 10, jpeg)).toEqual({ ok: true, type: "image/jpeg" });
    expect(classify("image/jpeg", 10, new TextEncoder().encode("<svg"))).toEqual({
      ok: false,
      reason: "unsupported type image/jpeg: only JPEG, PNG, WebP, HEIC/HEIF, AVIF, GIF",
    });
  });

  it("skips an empty or too-big file", () => {
    expect(classify("image/jpeg", 0, jpeg).ok).toBe(false);
    expect(classify("image/jpeg", 60 * 1024 * 1024, jpeg).ok).toBe(false);
  });
});

describe("folder drops", () => {
  const file = (name: string): EntryLike => ({
    isFile: true,
    isDirectory: false,
    name,
    file: (ok) => ok(new File(["x"], name)),
  });
  const dir = (name: string, children: EntryLike[], pageSize = 2): EntryLike => ({
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => {
      let i = 0;
      return {
        readEntries: (ok) => {
          ok(children.slice(i, i + pageSize));
          i += pageSize;
        },
      };
    },
  });

  it("collects files from nested folders across readEntries pages", async () => {
    const files = await filesFromEntries([
      file("a.jpg"),
      dir("trip", [file("b.jpg"), file("c.jpg"), dir("day2", [file("d.jpg")]), file("e.png")]),
    ]);
    expect(files.map((f) => f.name)).toEqual(["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.png"]);
  });
});
