import { describe, expect, it } from "vitest";
import { appToCanonical, canonicalToApp, canonicalToDataverse, dataverseToCanonical } from "../../../shared/sync/values.js";
import { Registry } from "../../../shared/sync/registry.js";
import { certificationStatus, field, thrown } from "./valuesFactories.js";

describe("null and default handling", () => {
  it("keeps null as null for every scalar type without a default", () => {
    for (const type of ["string", "number", "decimal", "money", "boolean", "date", "datetime", "choice"] as const) {
      const f = field({ type, choices: { a: 1 } });
      expect(appToCanonical(f, null)).toBeNull();
      expect(dataverseToCanonical(f, null)).toBeNull();
      expect(canonicalToApp(f, null)).toBeNull();
      expect(canonicalToDataverse(f, null)).toBeNull();
    }
  });

  it("uses the default for a missing app value", () => {
    const status = { ...certificationStatus, default: "pending" };
    expect(appToCanonical(status, undefined)).toBe("pending");
  });

  it("reads the default in the app's representation when Dataverse sends null", () => {
    const status = { ...certificationStatus, default: "pending" };
    expect(dataverseToCanonical(status, null)).toBe("pending");
  });

  it("normalizes the default like any app value", () => {
    const rate = field({ type: "money", default: 0 });
    expect(appToCanonical(rate, null)).toBe("0.00");
  });

  it("fails a record whose default is itself unmappable", () => {
    const status = { ...certificationStatus, default: "unknown" };
    expect(thrown(() => appToCanonical(status, null)).code).toBe("UNMAPPABLE_VALUE");
  });

  it("does not use the default when a value is present", () => {
    const status = { ...certificationStatus, default: "pending" };
    expect(appToCanonical(status, "active")).toBe("active");
  });
});

describe("transforms in value mapping", () => {
  const email = field({ app: "email", dataverse: "emailaddress1", type: "string", transforms: ["trim", "lowercase"] });

  it("applies transforms in order on the way from the app", () => {
    expect(appToCanonical(email, "  Kari@Example.NO ")).toBe("kari@example.no");
  });

  it("applies the same transforms to Dataverse values so both sides compare equal", () => {
    expect(dataverseToCanonical(email, "KARI@example.no")).toBe(appToCanonical(email, "kari@EXAMPLE.no"));
  });

  it("lets nullIfEmpty make an app empty string equal Dataverse's null", () => {
    const name = field({ type: "string", transforms: ["trim", "nullIfEmpty"] });
    expect(appToCanonical(name, "   ")).toBeNull();
    expect(dataverseToCanonical(name, null)).toBeNull();
  });

  it("runs transforms before the default, so an emptied value gets the default", () => {
    const status = { ...certificationStatus, transforms: ["nullIfEmpty"], default: "pending" };
    expect(appToCanonical(status, "")).toBe("pending");
  });

  it("runs transforms before parsing, so a padded date is read", () => {
    const date = field({ type: "date", transforms: ["trim"] });
    expect(appToCanonical(date, " 2026-03-01 ")).toBe("2026-03-01");
  });

  it("undoes a reversible transform on the way out to both sides", () => {
    // Prepare
    const registry = new Registry().registerTransform("cents", (v) => (typeof v === "number" ? v / 100 : v), {
      reverse: (v) => (typeof v === "number" ? Math.round(v * 100) : v),
    });
    const price = field({ type: "number", transforms: ["cents"] });
    // Act
    const canonical = appToCanonical(price, 1250, registry);
    // Assess
    expect(canonical).toBe(12.5);
    expect(canonicalToApp(price, canonical, registry)).toBe(1250);
    expect(canonicalToDataverse(price, canonical, registry)).toBe(1250);
  });

  it("reports an unregistered transform as a config error", () => {
    const bad = field({ type: "string", transforms: ["reverseWords"] });
    const error = thrown(() => appToCanonical(bad, "x"));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("reverseWords");
  });

  it("fails the value as unmappable when a custom transform throws", () => {
    const registry = new Registry().registerTransform("strict", () => {
      throw new Error("no");
    });
    const f = field({ type: "string", transforms: ["strict"] });
    expect(thrown(() => appToCanonical(f, "x", registry)).code).toBe("UNMAPPABLE_VALUE");
  });
});
