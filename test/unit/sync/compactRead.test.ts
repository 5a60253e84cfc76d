import { describe, expect, it } from "vitest";
import type { DataverseRow } from "../../../shared/ports.js";
import { CompactRead, MUST_READ, type CompactOptions } from "../../../shared/sync/compactRead.js";

const guid = (n: number) => `0000abcd-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const row = (id: string, key: string | null, hash?: number): DataverseRow => ({ contactid: id, key, hash });

function compactOf(rows: DataverseRow[], options: Partial<CompactOptions> = {}): Promise<CompactRead> {
  const c = new CompactRead("contactid", {
    above: 0, hash: (r) => r.hash as number | undefined, key: (r) => r.key as string | null, ...options,
  });
  return rows.reduce((done, r) => done.then(() => c.add(r)), Promise.resolve()).then(() => c);
}

describe("CompactRead", () => {
  it("keeps each row's hash, and the marker for a row whose values cannot be hashed", async () => {
    const c = await compactOf([row(guid(1), null, 12345), row(guid(2), null, undefined), row(guid(3), null, MUST_READ)]);

    expect(c.hashOf(guid(1))).toBe(12345);
    expect(c.hashOf(guid(2))).toBe(MUST_READ);
    // A real hash equal to the marker is moved off it, so it is never taken for "cannot be hashed".
    expect(c.hashOf(guid(3))).toBe(2);
    expect(c.total).toBe(3);
  });

  it("lets each row be claimed once", async () => {
    const c = await compactOf([row(guid(1), null, 1)]);

    expect(c.claim(guid(1))).toBe(true);
    expect(c.claim(guid(1))).toBe(false);
    expect(c.has(guid(1))).toBe(false);
    expect(c.hashOf(guid(1))).toBeUndefined();
    // Claimed, it was still read (a complete read's absences are told from this).
    expect(c.wasRead(guid(1))).toBe(true);
    expect(c.wasRead(guid(2))).toBe(false);
    expect(c.total).toBe(1);
  });

  it("finds rows by key, GUID and other ids alike", async () => {
    const c = await compactOf([row(guid(0xfeed), '["k1"]', 1), row("not-a-guid", '["k2"]', 2), row(guid(7), null, 3)]);

    expect(c.candidate('["k1"]')).toBe(guid(0xfeed));
    expect(c.candidate('["k2"]')).toBe("not-a-guid");
    expect(c.candidate('["k3"]')).toBeUndefined();
  });

  it("keeps every key exactly when all keys share one hash, and only offers a candidate to check", async () => {
    const c = await compactOf([row(guid(1), '["a"]', 1), row(guid(2), '["b"]', 2), row(guid(3), '["c"]', 3)], { keyHash: () => "same" });

    expect(c.candidate('["a"]')).toBe(guid(1));
    expect(c.candidate('["b"]')).toBe(guid(2));
    expect(c.candidate('["c"]')).toBe(guid(3));
    // A key with no row gets the row whose key shares its hash: the caller checks the key on the row.
    expect(c.candidate('["nobody"]')).toBe(guid(1));

    c.forgetKey('["a"]', guid(1));
    c.forgetKey('["b"]', guid(2));

    expect(c.candidate('["a"]')).toBeUndefined();
    expect(c.candidate('["b"]')).toBeUndefined();
    expect(c.candidate('["c"]')).toBe(guid(3));
  });

  it("does not forget a key entry that points to another row", async () => {
    const c = await compactOf([row(guid(1), '["a"]', 1)], { keyHash: () => "same" });

    c.forgetKey('["z"]', guid(9));

    expect(c.candidate('["a"]')).toBe(guid(1));
  });

  it("grows its id list past its first allocation", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => row(guid(i + 1), `["k${i}"]`, i + 2));
    const c = await compactOf(rows);

    expect(c.candidate('["k0"]')).toBe(guid(1));
    expect(c.candidate('["k2999"]')).toBe(guid(3000));
    expect(c.hashOf(guid(3000))).toBe(3001);
  });
});
