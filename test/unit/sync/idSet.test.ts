import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IdSet } from "../../../shared/sync/idSet.js";

/** A small deterministic generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("IdSet", () => {
  it("behaves like a Set of strings through adds, deletes and growth", () => {
    const next = random(7);
    const pool = [
      ...Array.from({ length: 3000 }, () => randomUUID()),
      // sequential GUIDs, as Dataverse hands out, differ in a few hex digits only
      ...Array.from({ length: 3000 }, (_, i) => `c0a80001-0000-4000-8000-${i.toString(16).padStart(12, "0")}`),
      "00000000-0000-0000-0000-000000000000", "m-0000001", "", "C0A80001-0000-4000-8000-000000000001",
    ];
    const ids = new IdSet();
    const reference = new Set<string>();
    for (let step = 0; step < 40_000; step++) {
      const id = pool[Math.floor(next() * pool.length)];
      if (next() < 0.6) {
        ids.add(id);
        reference.add(id);
      } else {
        expect(ids.delete(id)).toBe(reference.delete(id));
      }
      if (step % 997 === 0) for (const probe of pool.slice(0, 50)) expect(ids.has(probe)).toBe(reference.has(probe));
    }
    expect(ids.size).toBe(reference.size);
    expect(new Set(ids)).toEqual(reference);
    for (const id of pool) expect(ids.has(id)).toBe(reference.has(id));
  });

  it("keeps an upper-case GUID apart from its lower-case spelling, as a Set would", () => {
    const ids = new IdSet().add("c0a80001-0000-4000-8000-00000000000a");
    expect(ids.has("C0A80001-0000-4000-8000-00000000000A")).toBe(false);
    ids.add("C0A80001-0000-4000-8000-00000000000A");
    expect(ids.size).toBe(2);
    expect([...ids].sort()).toEqual(["C0A80001-0000-4000-8000-00000000000A", "c0a80001-0000-4000-8000-00000000000a"]);
  });

  it("holds a million GUIDs in far less memory than a Set of their strings", () => {
    const ids = new IdSet();
    for (let i = 0; i < 1_000_000; i++) ids.add(`c0a80001-0000-4000-8000-${i.toString(16).padStart(12, "0")}`);
    expect(ids.size).toBe(1_000_000);
    // 2^21 slots of 16 bytes at most: the table, not one object per id.
    expect((ids as unknown as { table: Uint32Array }).table.byteLength).toBeLessThanOrEqual(32 * 2 ** 20);
    expect(ids.has("c0a80001-0000-4000-8000-0000000f423f")).toBe(true);
    expect(ids.has("c0a80001-0000-4000-8000-0000000f4240")).toBe(false);
  });
});
