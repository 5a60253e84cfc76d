import { describe, expect, it } from "vitest";
import { appToCanonical, canonicalToApp, canonicalToDataverse, dataverseToCanonical } from "../../../shared/sync/values.js";
import { certificationStatus, field, thrown } from "./valuesFactories.js";

describe("choice values", () => {
  it("keeps the app value as canonical and writes the option number to Dataverse", () => {
    expect(appToCanonical(certificationStatus, "expired")).toBe("expired");
    expect(canonicalToDataverse(certificationStatus, "expired")).toBe(100000001);
  });

  it("reads an option number from Dataverse as the app value", () => {
    expect(dataverseToCanonical(certificationStatus, 100000002)).toBe("pending");
    expect(canonicalToApp(certificationStatus, "pending")).toBe("pending");
  });

  it("rejects an app value outside the map, naming the value and the allowed ones", () => {
    const error = thrown(() => appToCanonical(certificationStatus, "revoked"));
    expect(error.code).toBe("UNMAPPABLE_VALUE");
    expect(error.message).toContain('"revoked"');
    expect(error.message).toContain('"active", "expired", "pending"');
  });

  it("rejects a Dataverse option outside the map, naming the allowed option numbers", () => {
    const error = thrown(() => dataverseToCanonical(certificationStatus, 100000009));
    expect(error.code).toBe("UNMAPPABLE_VALUE");
    expect(error.message).toContain("100000009");
    expect(error.message).toContain("100000000, 100000001, 100000002");
  });

  it("rejects a canonical value the map no longer has when writing to Dataverse", () => {
    expect(thrown(() => canonicalToDataverse(certificationStatus, "retired")).code).toBe("UNMAPPABLE_VALUE");
  });

  it("does not take inherited object properties for choices", () => {
    expect(thrown(() => appToCanonical(certificationStatus, "toString")).code).toBe("UNMAPPABLE_VALUE");
  });

  it("rejects the option number sent by the app instead of the app value", () => {
    expect(thrown(() => appToCanonical(certificationStatus, 100000000)).code).toBe("UNMAPPABLE_VALUE");
  });

  it("rejects any value when the mapping defines no choices", () => {
    const bare = field({ type: "choice" });
    expect(thrown(() => appToCanonical(bare, "active")).message).toContain("no choices");
  });
});

describe("multichoice values", () => {
  const skills = field({
    app: "skills", dataverse: "hlf_skills", type: "multichoice",
    choices: { listening: 100000000, coaching: 100000001, writing: 100000002 },
  });

  it("sorts and de-duplicates the app's array", () => {
    expect(appToCanonical(skills, ["writing", "coaching", "writing"])).toEqual(["coaching", "writing"]);
  });

  it("writes a comma-separated list of option numbers to Dataverse", () => {
    expect(canonicalToDataverse(skills, ["coaching", "writing"])).toBe("100000001,100000002");
  });

  it("reads Dataverse's comma-separated list, with or without spaces", () => {
    expect(dataverseToCanonical(skills, "100000002,100000000")).toEqual(["listening", "writing"]);
    expect(dataverseToCanonical(skills, "100000002, 100000001")).toEqual(["coaching", "writing"]);
  });

  it("reads a single option sent as a bare number", () => {
    expect(dataverseToCanonical(skills, 100000001)).toEqual(["coaching"]);
  });

  it("makes an empty selection [] from either side and null to Dataverse", () => {
    expect(appToCanonical(skills, [])).toEqual([]);
    expect(appToCanonical(skills, null)).toEqual([]);
    expect(dataverseToCanonical(skills, null)).toEqual([]);
    expect(canonicalToDataverse(skills, [])).toBeNull();
    expect(canonicalToApp(skills, [])).toEqual([]);
  });

  it("round-trips a Dataverse selection through the app unchanged", () => {
    const canonical = dataverseToCanonical(skills, "100000000,100000002");
    expect(appToCanonical(skills, canonicalToApp(skills, canonical))).toEqual(canonical);
    expect(canonicalToDataverse(skills, canonical)).toBe("100000000,100000002");
  });

  it.each([
    ["a value outside the map", ["listening", "dancing"]],
    ["a single string instead of an array", "listening"],
    ["option numbers from the app", [100000000]],
  ])("rejects %s from the app", (_label, value) => {
    expect(thrown(() => appToCanonical(skills, value)).code).toBe("UNMAPPABLE_VALUE");
  });

  it.each([
    ["an option outside the map", "100000000,100000007"],
    ["a label instead of a number", "listening"],
    ["an array", [100000000]],
  ])("rejects %s from Dataverse", (_label, value) => {
    expect(thrown(() => dataverseToCanonical(skills, value)).code).toBe("UNMAPPABLE_VALUE");
  });
});
