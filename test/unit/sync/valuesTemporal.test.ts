import { describe, expect, it } from "vitest";
import { appToCanonical, canonicalToApp, canonicalToDataverse, dataverseToCanonical } from "../../../shared/sync/values.js";
import { field, thrown } from "./valuesFactories.js";

describe("date values", () => {
  const certifiedUntil = field({ app: "certifiedUntil", dataverse: "hlf_certifieduntil", type: "date" });

  it("keeps YYYY-MM-DD both ways", () => {
    expect(appToCanonical(certifiedUntil, "2026-03-01")).toBe("2026-03-01");
    expect(dataverseToCanonical(certifiedUntil, "2026-03-01")).toBe("2026-03-01");
    expect(canonicalToDataverse(certifiedUntil, "2026-03-01")).toBe("2026-03-01");
    expect(canonicalToApp(certifiedUntil, "2026-03-01")).toBe("2026-03-01");
  });

  it("takes the date of an ISO date-time at UTC midnight", () => {
    expect(appToCanonical(certifiedUntil, "2026-03-01T00:00:00Z")).toBe("2026-03-01");
    expect(appToCanonical(certifiedUntil, "2026-03-01T00:00:00.000Z")).toBe("2026-03-01");
    expect(dataverseToCanonical(certifiedUntil, "2026-03-01T00:00:00Z")).toBe("2026-03-01");
  });

  it("accepts a leap day in a leap year", () => {
    expect(appToCanonical(certifiedUntil, "2028-02-29")).toBe("2028-02-29");
  });

  it.each([
    ["an impossible day", "2026-02-30"],
    ["a leap day in a common year", "2027-02-29"],
    ["month 13", "2026-13-01"],
    ["a date-time that is not midnight UTC", "2026-03-01T10:00:00Z"],
    ["local midnight with an offset", "2026-03-01T00:00:00+01:00"],
    ["a date-time without an offset", "2026-03-01T00:00:00"],
    ["a day-first date", "01.03.2026"],
    ["a date before Dataverse's 1753 floor", "1700-01-01"],
    ["a number", 20260301],
  ])("rejects %s as unmappable", (_label, value) => {
    const error = thrown(() => appToCanonical(certifiedUntil, value));
    expect(error.code).toBe("UNMAPPABLE_VALUE");
    expect(error.message).toContain("certifiedUntil");
  });
});

describe("datetime values", () => {
  const lastContact = field({ app: "lastContactAt", dataverse: "hlf_lastcontacton", type: "datetime" });

  it("keeps a UTC timestamp with seconds both ways", () => {
    expect(appToCanonical(lastContact, "2026-11-25T03:10:44Z")).toBe("2026-11-25T03:10:44Z");
    expect(dataverseToCanonical(lastContact, "2026-11-25T03:10:44Z")).toBe("2026-11-25T03:10:44Z");
    expect(canonicalToDataverse(lastContact, "2026-11-25T03:10:44Z")).toBe("2026-11-25T03:10:44Z");
    expect(canonicalToApp(lastContact, "2026-11-25T03:10:44Z")).toBe("2026-11-25T03:10:44Z");
  });

  it("normalizes an offset to UTC", () => {
    expect(appToCanonical(lastContact, "2026-11-25T04:10:44+01:00")).toBe("2026-11-25T03:10:44Z");
    expect(appToCanonical(lastContact, "2026-11-24T22:10:44-0500")).toBe("2026-11-25T03:10:44Z");
  });

  it("crosses a day boundary when the offset moves it", () => {
    expect(appToCanonical(lastContact, "2026-01-01T00:30:00+02:00")).toBe("2025-12-31T22:30:00Z");
  });

  it("drops fractions of a second, as Dataverse stores whole seconds", () => {
    expect(appToCanonical(lastContact, "2026-11-25T03:10:44.999Z")).toBe("2026-11-25T03:10:44Z");
  });

  it("treats a missing seconds part as zero seconds", () => {
    expect(appToCanonical(lastContact, "2026-11-25T03:10Z")).toBe("2026-11-25T03:10:00Z");
  });

  it.each([
    ["a date-time without an offset", "2026-11-25T03:10:44"],
    ["a plain date", "2026-11-25"],
    ["hour 24", "2026-11-25T24:00:00Z"],
    ["second 60", "2026-11-25T03:10:60Z"],
    ["an impossible day", "2026-04-31T03:10:44Z"],
    ["an offset of 25 hours", "2026-11-25T03:10:44+25:00"],
    ["an English date", "Nov 25 2026 03:10:44 GMT"],
    ["epoch milliseconds", 1_795_000_000_000],
  ])("rejects %s as unmappable", (_label, value) => {
    expect(thrown(() => appToCanonical(lastContact, value)).code).toBe("UNMAPPABLE_VALUE");
  });
});
