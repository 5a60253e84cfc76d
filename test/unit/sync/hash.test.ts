import { describe, expect, it } from "vitest";
import { canonicalEquals, hash32Canonical, hashCanonical } from "../../../shared/sync/hash.js";
import { hash32 } from "../../../shared/sync/decide.js";

describe("canonicalEquals", () => {
  it("compares nested values deeply", () => {
    expect(canonicalEquals({ a: [1, { b: "x" }] }, { a: [1, { b: "x" }] })).toBe(true);
    expect(canonicalEquals({ a: [1, { b: "x" }] }, { a: [1, { b: "y" }] })).toBe(false);
  });

  it("ignores object key order but not array order", () => {
    expect(canonicalEquals({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(canonicalEquals(["a", "b"], ["b", "a"])).toBe(false);
  });

  it("treats null, undefined and a missing key alike", () => {
    expect(canonicalEquals(null, undefined)).toBe(true);
    expect(canonicalEquals({ a: null }, {})).toBe(true);
  });

  it("keeps empty string, zero, false and null apart", () => {
    const values = ["", 0, false, null, [], "0"];
    for (const a of values) for (const b of values) expect(canonicalEquals(a, b)).toBe(a === b);
  });

  it("distinguishes arrays from objects with the same entries", () => {
    expect(canonicalEquals(["x"], { 0: "x" })).toBe(false);
  });
});

describe("hashCanonical", () => {
  it("is a sha256 hex digest that does not depend on key order", () => {
    const a = hashCanonical({ firstName: "Kari", score: 3 });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(hashCanonical({ score: 3, firstName: "Kari" })).toBe(a);
  });

  it("changes when any value changes, including its type", () => {
    const base = hashCanonical({ score: 3, rate: "12.50" });
    expect(hashCanonical({ score: 4, rate: "12.50" })).not.toBe(base);
    expect(hashCanonical({ score: "3", rate: "12.50" })).not.toBe(base);
    expect(hashCanonical({ score: 3, rate: "12.5" })).not.toBe(base);
  });

  it("agrees with canonicalEquals about null and missing fields", () => {
    expect(hashCanonical({ a: 1, b: null })).toBe(hashCanonical({ a: 1 }));
    expect(hashCanonical({ a: 1, b: "" })).not.toBe(hashCanonical({ a: 1 }));
  });

  it("is stable for nested objects and arrays", () => {
    expect(hashCanonical({ s: ["a", "b"], o: { y: 1, x: 2 } })).toBe(hashCanonical({ o: { x: 2, y: 1 }, s: ["a", "b"] }));
    expect(hashCanonical({ s: ["a", "b"] })).not.toBe(hashCanonical({ s: ["b", "a"] }));
  });

  it("refuses values that are not plain JSON", () => {
    expect(() => hashCanonical({ n: Number.NaN })).toThrow(TypeError);
    expect(() => hashCanonical({ d: new Date(0) })).toThrow(TypeError);
  });

  it("gives the first 32 bits of the hex hash as a number, as echo checks compare them with a link's hash", () => {
    for (const values of [{}, { a: 1, b: null }, { s: ["a", "b"], o: { y: 1, x: 2 } }, { rate: "12.50", name: "Ærøskøbing" }]) {
      expect(hash32Canonical(values)).toBe(hash32(hashCanonical(values)));
    }
    expect(hashCanonical({})).toBe("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  });
});
