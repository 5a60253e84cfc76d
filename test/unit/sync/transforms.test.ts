import { describe, expect, it } from "vitest";
import { applyTransforms, builtinTransforms, reverseTransforms, defineTransform } from "../../../shared/sync/transforms.js";

const table = new Map(Object.entries(builtinTransforms));

describe("built-in transforms", () => {
  it.each([
    ["trim", "  a b  ", "a b"],
    ["lowercase", "KaRi", "kari"],
    ["uppercase", "KaRi", "KARI"],
    ["nullIfEmpty", "", null],
    ["nullIfEmpty", " ", " "],
    ["emptyIfNull", null, ""],
    ["emptyIfNull", undefined, ""],
    ["emptyIfNull", "x", "x"],
  ])("%s turns %j into %j", (name, input, expected) => {
    expect(builtinTransforms[name].apply(input)).toBe(expected);
  });

  it("leaves non-strings alone in the string transforms", () => {
    for (const name of ["trim", "lowercase", "uppercase"]) {
      expect(builtinTransforms[name].apply(42)).toBe(42);
      expect(builtinTransforms[name].apply(null)).toBeNull();
    }
  });

  it("declares every built-in as not reversible, since each loses information", () => {
    expect(Object.values(builtinTransforms).every((t) => !t.reversible && t.reverse === undefined)).toBe(true);
  });
});

describe("applyTransforms", () => {
  it("applies transforms in the listed order", () => {
    // nullIfEmpty before trim leaves "   " as "", after trim it becomes null.
    expect(applyTransforms(["nullIfEmpty", "trim"], "   ", table)).toEqual({ ok: true, value: "" });
    expect(applyTransforms(["trim", "nullIfEmpty"], "   ", table)).toEqual({ ok: true, value: null });
  });

  it("returns the value unchanged without transforms", () => {
    expect(applyTransforms(undefined, " x ", table)).toEqual({ ok: true, value: " x " });
  });

  it("names a transform that is not in the table", () => {
    expect(applyTransforms(["trim", "nope"], "x", table)).toEqual({ ok: false, missing: "nope" });
  });
});

describe("reverseTransforms", () => {
  it("runs only the reversible transforms, last first", () => {
    // Prepare
    const withReverse = new Map(table);
    withReverse.set("plus1", defineTransform("plus1", (v) => Number(v) + 1, (v) => Number(v) - 1));
    withReverse.set("times2", defineTransform("times2", (v) => Number(v) * 2, (v) => Number(v) / 2));
    // Act
    const forward = applyTransforms(["plus1", "trim", "times2"], 3, withReverse);
    const back = reverseTransforms(["plus1", "trim", "times2"], 8, withReverse);
    // Assess
    expect(forward).toEqual({ ok: true, value: 8 });
    expect(back).toEqual({ ok: true, value: 3 });
    expect(withReverse.get("plus1")?.reversible).toBe(true);
  });
});
