import { describe, expect, it } from "vitest";
import { IdSet } from "../../../shared/sync/idSet.js";
import { KeyHashMap } from "../../../shared/sync/keyHashMap.js";

/** A small deterministic generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("KeyHashMap", () => {
  it("behaves like a Map of strings to 32-bit values through sets, deletes and growth", () => {
    const next = random(11);
    const pool = [...Array.from({ length: 5000 }, (_, i) => `m-${i}`), "", "ü-ñ", "a".repeat(500)];
    const map = new KeyHashMap();
    const reference = new Map<string, number>();
    for (let step = 0; step < 40_000; step++) {
      const key = pool[Math.floor(next() * pool.length)];
      if (next() < 0.6) {
        const value = Math.floor(next() * 2 ** 32) >>> 0;
        map.set(key, value);
        reference.set(key, value);
      } else {
        expect(map.delete(key)).toBe(reference.delete(key));
      }
    }
    expect(map.size).toBe(reference.size);
    for (const key of pool) expect(map.get(key)).toBe(reference.get(key));
  });
});

describe("IdSet with values", () => {
  it("keeps a 32-bit value per id through growth and deletes, like a Map", () => {
    const next = random(5);
    const pool = [...Array.from({ length: 4000 }, (_, i) => `c0a80001-0000-4000-8000-${i.toString(16).padStart(12, "0")}`), "00000000-0000-0000-0000-000000000000", "not-a-guid"];
    const ids = IdSet.withValues();
    const reference = new Map<string, number>();
    for (let step = 0; step < 30_000; step++) {
      const id = pool[Math.floor(next() * pool.length)];
      if (next() < 0.6) {
        const value = Math.floor(next() * 2 ** 32) >>> 0;
        ids.add(id, value);
        reference.set(id, value);
      } else {
        expect(ids.delete(id)).toBe(reference.delete(id));
      }
    }
    expect(ids.size).toBe(reference.size);
    for (const id of pool) expect(ids.get(id)).toBe(reference.get(id));
  });
});
