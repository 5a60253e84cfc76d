import { describe, expect, it } from "vitest";
import { compileFilter } from "../../../shared/sync/filters.js";
import { SyncError } from "../../../shared/errors.js";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const mentor = { firstName: "Kari", score: 72, isPublic: true, certificationStatus: "active", certifiedUntil: "2026-11-15", email: "Kari@Example.no", groupId: null };

describe("compileFilter", () => {
  it("matches on numbers, text and booleans", () => {
    const filter = compileFilter('score >= 50 and certificationStatus == "active" and isPublic == true');
    expect(filter(mentor)).toBe(true);
    expect(filter({ ...mentor, score: 49 })).toBe(false);
    expect(filter({ ...mentor, isPublic: false })).toBe(false);
  });

  it("supports in-lists and null checks", () => {
    const filter = compileFilter('certificationStatus in ("active", "pending") and groupId == null');
    expect(filter(mentor)).toBe(true);
    expect(filter({ ...mentor, certificationStatus: "expired" })).toBe(false);
  });

  it("counts days since a date with the injected clock", () => {
    const filter = compileFilter("daysSince(certifiedUntil) <= 10", { now: () => NOW });
    expect(filter(mentor)).toBe(true);
    expect(filter({ ...mentor, certifiedUntil: "2026-11-14" })).toBe(false);
  });

  it("reads date-times with offsets in daysSince", () => {
    const filter = compileFilter("daysSince(at) == 1", { now: () => NOW });
    expect(filter({ at: "2026-11-24T13:00:00+01:00" })).toBe(true);
  });

  it("offers text helpers", () => {
    expect(compileFilter('lower(email) == "kari@example.no"')(mentor)).toBe(true);
    expect(compileFilter('upper(firstName) == "KARI"')(mentor)).toBe(true);
    expect(compileFilter('contains(email, "@Example") and startsWith(firstName, "Ka") and endsWith(email, ".no")')(mentor)).toBe(true);
    expect(compileFilter("len(trim(firstName)) == 4")(mentor)).toBe(true);
  });

  it("does not match, and reports, a record missing a property the filter reads", () => {
    // Prepare
    const errors: string[] = [];
    const filter = compileFilter("scor >= 50", { onError: (e) => errors.push(e.message) });
    // Act
    const matched = filter(mentor);
    // Assess
    expect(matched).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("scor");
  });

  it("does not match, and reports, when a helper gets the wrong type", () => {
    const errors: Error[] = [];
    const filter = compileFilter("daysSince(groupId) > 1", { onError: (e) => errors.push(e), now: () => NOW });
    expect(filter(mentor)).toBe(false);
    expect(errors[0]?.message).toContain("daysSince");
  });

  it("does not match an unreadable date in daysSince", () => {
    const filter = compileFilter("daysSince(certifiedUntil) > 1", { now: () => NOW });
    expect(filter({ ...mentor, certifiedUntil: "2026-02-30" })).toBe(false);
  });

  it("cannot reach inherited properties such as constructor", () => {
    const filter = compileFilter("constructor == constructor");
    expect(filter({})).toBe(false);
  });

  it("throws a config error naming the expression when it does not parse", () => {
    let error: unknown;
    try {
      compileFilter("score >= ");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).code).toBe("INVALID_CONFIG");
    expect((error as SyncError).message).toContain('"score >= "');
  });

  it("throws at compile time for an unknown function, listing the available ones", () => {
    expect(() => compileFilter("eval(score) > 1")).toThrow(/unknown function eval\(\).*daysSince/);
  });

  it("does not mistake words in strings or in-lists for function calls", () => {
    const filter = compileFilter('firstName in ("eval(x)", "Kari") and not (score < 10)');
    expect(filter(mentor)).toBe(true);
  });

  it("rejects an empty expression", () => {
    expect(() => compileFilter("  ")).toThrow(SyncError);
  });
});
