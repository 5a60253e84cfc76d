import { describe, expect, it } from "vitest";
import { appToCanonical, canonicalToApp, canonicalToDataverse, dataverseToCanonical } from "../../../shared/sync/values.js";
import { field, thrown } from "./valuesFactories.js";

describe("string values", () => {
  const name = field({ app: "firstName", dataverse: "firstname", type: "string" });

  it("keeps a string unchanged both ways", () => {
    // Act
    const canonical = appToCanonical(name, "Kari");
    // Assess
    expect(canonical).toBe("Kari");
    expect(canonicalToDataverse(name, canonical)).toBe("Kari");
    expect(dataverseToCanonical(name, "Kari")).toBe("Kari");
    expect(canonicalToApp(name, "Kari")).toBe("Kari");
  });

  it("keeps the empty string distinct from null", () => {
    expect(appToCanonical(name, "")).toBe("");
    expect(appToCanonical(name, null)).toBeNull();
    expect(appToCanonical(name, undefined)).toBeNull();
  });

  it("rejects a number sent for a string field, naming the app field and the value", () => {
    // Act
    const error = thrown(() => appToCanonical(name, 42));
    // Assess
    expect(error.kind).toBe("validation");
    expect(error.code).toBe("UNMAPPABLE_VALUE");
    expect(error.message).toContain('"firstName"');
    expect(error.message).toContain("42");
    expect(error.details).toMatchObject({ appField: "firstName", dataverseColumn: "firstname", side: "app" });
  });

  it("names the Dataverse column when a Dataverse value cannot be mapped", () => {
    const error = thrown(() => dataverseToCanonical(name, { odd: true }));
    expect(error.code).toBe("UNMAPPABLE_VALUE");
    expect(error.message).toContain('Dataverse column "firstname"');
    expect(error.message).toContain('{"odd":true}');
  });

  it("shortens a long value in the message", () => {
    const error = thrown(() => appToCanonical(name, ["x".repeat(500)]));
    expect(error.message.length).toBeLessThan(300);
  });
});

describe("number values", () => {
  const score = field({ app: "score", dataverse: "hlf_score", type: "number" });

  it("keeps integers and floats as numbers both ways", () => {
    expect(appToCanonical(score, 42)).toBe(42);
    expect(appToCanonical(score, 4.25)).toBe(4.25);
    expect(dataverseToCanonical(score, 7)).toBe(7);
    expect(canonicalToDataverse(score, 42)).toBe(42);
    expect(canonicalToApp(score, 42)).toBe(42);
  });

  it("reads a plain numeric string as a number", () => {
    expect(appToCanonical(score, "17")).toBe(17);
    expect(appToCanonical(score, "-2.5")).toBe(-2.5);
  });

  it("normalizes negative zero to zero", () => {
    expect(Object.is(appToCanonical(score, -0), 0)).toBe(true);
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a word", "many"],
    ["an empty string", ""],
    ["a hex string", "0x10"],
    ["a string with spaces", " 5 "],
    ["a boolean", true],
    ["an overflowing string", "1e999"],
  ])("rejects %s as unmappable", (_label, value) => {
    expect(thrown(() => appToCanonical(score, value)).code).toBe("UNMAPPABLE_VALUE");
  });
});

describe("decimal and money values", () => {
  const rate = field({ app: "hourlyRate", dataverse: "hlf_hourlyrate", type: "money" });
  const ratio = field({ app: "ratio", dataverse: "hlf_ratio", type: "decimal" });

  it("makes 12.5 and 12.50 the same canonical money value", () => {
    expect(appToCanonical(rate, 12.5)).toBe("12.50");
    expect(appToCanonical(rate, "12.50")).toBe("12.50");
    expect(dataverseToCanonical(rate, 12.5)).toBe("12.50");
  });

  it("uses 4 digits for a decimal without a precision", () => {
    expect(appToCanonical(ratio, 0.1)).toBe("0.1000");
  });

  it("uses the field's precision when given", () => {
    const precise = field({ type: "decimal", precision: 0 });
    expect(appToCanonical(precise, 2.5)).toBe("3");
    expect(appToCanonical({ ...precise, precision: 6 }, 1 / 3)).toBe("0.333333");
  });

  it("rounds half away from zero on the decimal digits, not on the binary float", () => {
    // (1.005).toFixed(2) is "1.00" in JavaScript.
    expect(appToCanonical(rate, 1.005)).toBe("1.01");
    expect(appToCanonical(rate, -1.005)).toBe("-1.01");
    expect(appToCanonical(rate, 0.1 + 0.2)).toBe("0.30");
  });

  it("reads exponent notation and has one form for zero", () => {
    expect(appToCanonical(rate, 1e-7)).toBe("0.00");
    expect(appToCanonical(rate, -0.001)).toBe("0.00");
    expect(appToCanonical(rate, "2.5e3")).toBe("2500.00");
  });

  it("writes a JS number to both sides", () => {
    expect(canonicalToDataverse(rate, "12.50")).toBe(12.5);
    expect(canonicalToApp(rate, "12.50")).toBe(12.5);
  });

  it("re-rounds a canonical value stored with more digits than the precision", () => {
    expect(canonicalToDataverse(rate, "12.345")).toBe(12.35);
  });

  it.each([["NaN", Number.NaN], ["text", "cheap"], ["a huge number", 1e300], ["an object", {}]])(
    "rejects %s as unmappable",
    (_label, value) => {
      expect(thrown(() => appToCanonical(rate, value)).code).toBe("UNMAPPABLE_VALUE");
    },
  );

  it("round-trips a Dataverse money value through the app unchanged", () => {
    const canonical = dataverseToCanonical(rate, 99.9);
    const appValue = canonicalToApp(rate, canonical);
    expect(appToCanonical(rate, appValue)).toBe(canonical);
    expect(canonicalToDataverse(rate, canonical)).toBe(99.9);
  });
});

describe("boolean values", () => {
  const isPublic = field({ app: "isPublic", dataverse: "hlf_ispublic", type: "boolean" });

  it("accepts booleans and the strings true/false from the app", () => {
    expect(appToCanonical(isPublic, true)).toBe(true);
    expect(appToCanonical(isPublic, "false")).toBe(false);
    expect(appToCanonical(isPublic, "true")).toBe(true);
  });

  it("writes booleans to both sides", () => {
    expect(canonicalToDataverse(isPublic, false)).toBe(false);
    expect(canonicalToApp(isPublic, true)).toBe(true);
    expect(dataverseToCanonical(isPublic, true)).toBe(true);
  });

  it.each([["1", 1], ["0", 0], ["yes", "yes"], ["TRUE", "TRUE"]])("rejects %s from the app", (_label, value) => {
    expect(thrown(() => appToCanonical(isPublic, value)).code).toBe("UNMAPPABLE_VALUE");
  });

  it("rejects the string true from Dataverse, which only sends booleans", () => {
    expect(thrown(() => dataverseToCanonical(isPublic, "true")).code).toBe("UNMAPPABLE_VALUE");
  });
});
