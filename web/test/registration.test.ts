import type { UploadResponse } from "@darkroom/shared/http";
import { describe, expect, it } from "vitest";
import type { UploadFile } from "../src/api";
import { AHEAD_MAX, BATCH_MAX, Registrar } from "../src/upload/registration";
import { freshRow, type Row } from "../src/upload/rows";
import { flush } from "./fake-clock";

/** `n` hashed rows, ready to register. */
function hashed(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => {
    const row = freshRow(i, `c${i}`, `photo-${i}.jpg`, { file: null, handle: null, root: null });
    row.size = 1000 + i;
    row.sha256 = i.toString(16).padStart(64, "0");
    row.type = "image/jpeg";
    return row;
  });
}

/**
 * A registrar whose requests go to a recorder that answers each file with a ticket; the
 * test plays the scheduler: `registered - started` files wait for a PUT.
 */
function setup() {
  const requests: number[] = [];
  const state = { hashing: true, registered: 0, started: 0, widest: 0 };
  const registrar = new Registrar({
    batchId: () => "b1",
    moreComing: () => state.hashing,
    ahead: () => state.registered - state.started,
    onRegistered: (res) => {
      state.registered += res.files.length;
      state.widest = Math.max(state.widest, state.registered - state.started);
    },
    onFailed: () => {
      throw new Error("no registration fails here");
    },
    send: async (files: UploadFile[], batchId) => {
      requests.push(files.length);
      const res: UploadResponse = {
        batchId: batchId ?? "b1",
        files: files.map((f) => ({
          clientId: f.clientId,
          assetId: `a-${f.clientId}`,
          status: "upload",
          upload: {
            url: `https://r2.example/${f.clientId}`,
            method: "PUT",
            headers: {},
            expiresAt: new Date(0).toISOString(),
          },
        })),
      };
      return res;
    },
  });
  /** Rows hashed one after another, then hashing ends. */
  const hashAll = async (rows: Row[]) => {
    for (const row of rows) registrar.add(row);
    state.hashing = false;
    registrar.flushSoon();
    await flush();
  };
  return { registrar, requests, state, hashAll };
}

describe("registration runs a bounded window ahead of the PUTs", () => {
  it("registers no more than AHEAD_MAX files before their PUTs start, and the rest as they do", async () => {
    const t = setup();
    await t.hashAll(hashed(1050));
    // Hashed all at once, yet only the window is registered (its URLs start expiring now).
    expect(t.state.registered).toBe(AHEAD_MAX);
    expect(t.registrar.waiting).toBe(1050 - AHEAD_MAX);

    // The PUTs start a few at a time; each start lets registration go on.
    while (t.state.started < 1050) {
      t.state.started = Math.min(t.state.registered, t.state.started + 7);
      t.registrar.flushSoon();
      await flush();
    }
    expect(t.state.registered).toBe(1050);
    expect(t.state.widest).toBeLessThanOrEqual(AHEAD_MAX);
    // Whole requests only: a place freed by one PUT never sends a request of one file.
    expect(t.requests.slice(0, -1).every((n) => n === BATCH_MAX)).toBe(true);
    expect(t.requests.at(-1)).toBe(50);
  });

  it("registers nothing more while no PUT starts", async () => {
    const t = setup();
    await t.hashAll(hashed(AHEAD_MAX + 1));
    t.registrar.flushSoon();
    await flush();
    expect(t.state.registered).toBe(AHEAD_MAX);
    expect(t.requests).toEqual([BATCH_MAX, BATCH_MAX, BATCH_MAX]);
    // One PUT starts: room for the last file, which is a whole request of what is left.
    t.state.started = 1;
    t.registrar.flushSoon();
    await flush();
    expect(t.requests).toEqual([BATCH_MAX, BATCH_MAX, BATCH_MAX, 1]);
  });
});
