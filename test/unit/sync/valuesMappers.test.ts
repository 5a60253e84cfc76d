import { describe, expect, it } from "vitest";
import { appToCanonical, canonicalToApp, canonicalToDataverse, dataverseToCanonical } from "../../../shared/sync/values.js";
import { Registry } from "../../../shared/sync/registry.js";
import { field, thrown } from "./valuesFactories.js";

function phoneRegistry(): Registry {
  return new Registry().registerFieldMapper("phone", {
    toCanonicalFromApp: (value) => (typeof value === "string" ? value.replace(/\D/g, "") : value),
    toDataverse: (canonical) => `+${String(canonical)}`,
  });
}

describe("custom field mappers", () => {
  const phone = field({ app: "phone", dataverse: "telephone1", type: "string", mapper: "phone" });

  it("uses the mapper's direction when it has one", () => {
    const registry = phoneRegistry();
    expect(appToCanonical(phone, "+47 400 00 000", registry)).toBe("4740000000");
    expect(canonicalToDataverse(phone, "4740000000", registry)).toBe("+4740000000");
  });

  it("falls back to the built-in conversion for directions the mapper leaves out", () => {
    const registry = phoneRegistry();
    expect(dataverseToCanonical(phone, "+4740000000", registry)).toBe("+4740000000");
    expect(thrown(() => dataverseToCanonical(phone, 4740000000, registry)).code).toBe("UNMAPPABLE_VALUE");
    expect(canonicalToApp(phone, "4740000000", registry)).toBe("4740000000");
  });

  it("lets a mapper convert a lookup from Dataverse, which the built-ins refuse", () => {
    const registry = new Registry().registerFieldMapper("guidAsId", { toCanonicalFromDataverse: (v) => `id-${String(v)}` });
    const ref = field({ type: "lookup", mapper: "guidAsId" });
    expect(dataverseToCanonical(ref, "abc", registry)).toBe("id-abc");
  });

  it("fails the value as unmappable when the mapper throws, keeping the cause", () => {
    // Prepare
    const boom = new Error("bad phone");
    const registry = new Registry().registerFieldMapper("phone", { toCanonicalFromApp: () => { throw boom; } });
    // Act
    const error = thrown(() => appToCanonical(phone, "x", registry));
    // Assess
    expect(error.code).toBe("UNMAPPABLE_VALUE");
    expect(error.message).toContain("bad phone");
    expect(error.cause).toBe(boom);
  });

  it("reports an unregistered mapper as a config error", () => {
    const error = thrown(() => appToCanonical(phone, "x", new Registry()));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain('"phone"');
  });
});
