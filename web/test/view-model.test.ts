import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api";
import type { AssetProgress } from "../src/progress";
import { registrationFailure } from "../src/upload/registration";
import type { Row } from "../src/upload/rows";
import { failuresOf, localCounts, rowStage } from "../src/view-model";

const row = (over: Partial<Row> = {}): Row => ({
  seq: 0,
  clientId: "c1",
  name: "a.jpg",
  size: 200,
  lastModified: 0,
  file: null,
  handle: null,
  root: null,
  sha256: null,
  type: null,
  assetId: null,
  local: "hashing",
  loaded: 0,
  note: null,
  attempts: 0,
  ...over,
});
const server = (status: AssetProgress["status"], version = 1, error = null) =>
  ({ status, version, error }) as AssetProgress;

describe("a row's stage", () => {
  it("shows local verdicts first: a duplicate stays a duplicate whatever the server says", () => {
    expect(rowStage(row({ local: "duplicate" }), server("ready"))).toEqual({
      text: "duplicate",
      cls: "duplicate",
    });
    expect(rowStage(row({ local: "skipped" }), undefined).cls).toBe("skipped");
  });

  it("shows the server's stage once it has said something past pending", () => {
    expect(rowStage(row({ local: "sent" }), server("embedding"))).toEqual({
      text: "indexing",
      cls: "embedding",
    });
    // version 0 is the page's own placeholder from `track`, not the server's word.
    expect(rowStage(row({ local: "sent" }), server("uploaded", 0))).toEqual({
      text: "uploaded",
      cls: "uploaded",
    });
  });

  it("shows upload progress in percent, and what to do for a file a reload lost", () => {
    expect(rowStage(row({ local: "uploading", loaded: 50 }), undefined).text).toBe("uploading 25%");
    expect(rowStage(row({ local: "needs-file" }), undefined)).toEqual({
      text: "not uploaded: re-pick",
      cls: "failed",
    });
    expect(rowStage(row({ local: "upload-failed" }), undefined).cls).toBe("failed");
  });
});

describe("the failures list", () => {
  it("lists the server's failures with their reason and the page's own, once each", () => {
    const processed = row({ clientId: "c1", name: "corrupt.jpg", assetId: "a1", local: "sent" });
    const refused = row({
      clientId: "c2",
      name: "b.jpg",
      assetId: "a2",
      local: "upload-failed",
      note: "gave up after 6 attempts: network_error: reset",
    });
    const both = row({ clientId: "c3", name: "c.jpg", assetId: "a3", local: "upload-failed" });
    const assets = new Map<string, AssetProgress>([
      [
        "a1",
        {
          status: "failed",
          version: 3,
          error: { stage: "processing", code: "corrupt", message: "not a JPEG" },
        },
      ],
      ["a3", server("failed")],
    ]);
    const byAsset = new Map([processed, refused, both].map((r) => [r.assetId ?? "", r]));
    const list = failuresOf([processed, refused, both], assets, (id) => byAsset.get(id));
    expect(list.map((f) => [f.name, f.reason, f.assetId])).toEqual([
      ["corrupt.jpg", "corrupt: not a JPEG", "a1"],
      ["c.jpg", "failed", "a3"],
      ["b.jpg", "gave up after 6 attempts: network_error: reset", null],
    ]);
  });
});

describe("the local counters", () => {
  it("counts skipped, duplicates and files to re-pick in one pass", () => {
    const c = localCounts([
      row({ local: "skipped" }),
      row({ local: "duplicate" }),
      row({ local: "needs-file" }),
      row({ local: "sent" }),
    ]);
    expect(c).toMatchObject({ toUpload: 2, duplicates: 1, needsFile: 1 });
    expect(c.skipped).toHaveLength(1);
  });
});

describe("a registration that fails", () => {
  it("says what happened and how many attempts were made", () => {
    expect(registrationFailure(new ApiError(503, "http_503", "busy", 6))).toBe(
      "could not register after 6 attempts: http_503: busy",
    );
    expect(registrationFailure(new ApiError(413, "too_large", "file too big"))).toBe(
      "could not register: too_large: file too big",
    );
  });
});
