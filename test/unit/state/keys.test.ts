import { describe, expect, it } from "vitest";
import { decodeKey, encodeKey, invertedTime, RESERVED_PREFIX, runIndexRowKey } from "../../../shared/state/keys.js";

describe("encodeKey", () => {
  it("removes every character a table key forbids and round-trips", () => {
    const raw = "a/b\\c#d?e\u0001f\u007fg\u0085h";
    const key = encodeKey(raw);

    expect(key).not.toMatch(/[/\\#?\u0000-\u001f\u007f-\u009f]/);
    expect(decodeKey(key)).toBe(raw);
  });

  it("never produces a key at or above the reserved prefix", () => {
    for (const raw of ["~", "~~a", "ÿ", "😀", "zzz"]) expect(encodeKey(raw) < RESERVED_PREFIX).toBe(true);
  });

  it("keeps distinct ids distinct even when one looks already escaped", () => {
    expect(encodeKey("%2F")).not.toBe(encodeKey("/"));
  });
});

describe("invertedTime", () => {
  it("sorts later timestamps first at a fixed width", () => {
    const later = invertedTime("2025-01-02T00:00:00.000Z");
    const earlier = invertedTime("2025-01-01T00:00:00.000Z");

    expect(later < earlier).toBe(true);
    expect(later).toHaveLength(earlier.length);
  });

  it("rejects a timestamp it cannot parse", () => {
    expect(() => invertedTime("yesterday")).toThrow(RangeError);
  });

  it("breaks ties between runs started at the same moment by run id", () => {
    expect(runIndexRowKey("2025-01-01T00:00:00Z", "a") < runIndexRowKey("2025-01-01T00:00:00Z", "b")).toBe(true);
  });
});
