import { describe, expect, it } from "vitest";
import { z } from "zod";
import { numberVar, optionalVar, readVars } from "./vars";

const shape = {
  LEASE_SECONDS: numberVar(120, { positive: true }),
  MAX_ITEMS: numberVar(10, { integer: true, min: 1, max: 100 }),
  FREE_COST: numberVar(1),
  NAME: optionalVar(z.string(), "darkroom"),
};

describe("the shared var reader", () => {
  it("gives the default to a var that is unset, empty or only spaces", () => {
    for (const env of [{}, { LEASE_SECONDS: "", MAX_ITEMS: "  ", FREE_COST: "", NAME: "" }]) {
      expect(readVars(shape, env, "Invalid var")).toEqual({
        LEASE_SECONDS: 120,
        MAX_ITEMS: 10,
        FREE_COST: 1,
        NAME: "darkroom",
      });
    }
  });

  it("takes a plain decimal, a number written unquoted, and a zero where zero is allowed", () => {
    const vars = readVars(
      { ...shape, MAX_ITEMS: numberVar(10, { integer: true }) },
      { LEASE_SECONDS: " 0.5 ", MAX_ITEMS: 7, FREE_COST: "0", NAME: "other" },
      "Invalid var",
    );
    expect(vars).toEqual({ LEASE_SECONDS: 0.5, MAX_ITEMS: 7, FREE_COST: 0, NAME: "other" });
  });

  it("refuses what is not a plain decimal, naming the var and its value", () => {
    for (const bad of ["1e3", "0x10", "-5", "ten", "12 s"]) {
      expect(() => readVars(shape, { FREE_COST: bad }, "Invalid var")).toThrow(
        `Invalid var: FREE_COST = ${JSON.stringify(bad.trim())} must be a plain decimal number`,
      );
    }
  });

  it("holds a number to its bounds, naming the var", () => {
    expect(() => readVars(shape, { LEASE_SECONDS: "0" }, "Invalid var")).toThrow(
      "LEASE_SECONDS = 0 must be more than 0",
    );
    expect(() => readVars(shape, { MAX_ITEMS: "0" }, "Invalid var")).toThrow(
      "MAX_ITEMS = 0 must be at least 1",
    );
    expect(() => readVars(shape, { MAX_ITEMS: "101" }, "Invalid var")).toThrow(
      "MAX_ITEMS = 101 must be at most 100",
    );
    expect(() => readVars(shape, { MAX_ITEMS: "2.5" }, "Invalid var")).toThrow(
      "MAX_ITEMS = 2.5 must be a whole number",
    );
    expect(readVars(shape, { MAX_ITEMS: "100" }, "Invalid var").MAX_ITEMS).toBe(100);
  });

  it("lists every bad var at once", () => {
    expect(() => readVars(shape, { LEASE_SECONDS: "0", MAX_ITEMS: "x" }, "Invalid var")).toThrow(
      /LEASE_SECONDS = 0 must be more than 0; MAX_ITEMS = "x" must be a plain decimal/,
    );
  });

  it("names a required var that is missing", () => {
    expect(() => readVars({ MODE: z.enum(["local", "r2"]) }, {}, "Invalid var")).toThrow(
      "Invalid var: MODE = unset",
    );
  });
});
