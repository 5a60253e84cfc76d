import { describe, expect, it } from "vitest";
import { hash64Canonical, hashCanonical } from "../../../shared/sync/hash.js";
import { Held, HeldLinks } from "../../../shared/sync/heldLinks.js";
import { hash32 } from "../../../shared/sync/decide.js";

const guid = (n: number) => `0a0b0c0d-0000-4000-8000-${String(n).padStart(12, "0")}`;

describe("HeldLinks", () => {
  it("finds every link by app id and by Dataverse id past its first growth, and gives its ids back exactly", () => {
    const held = new HeldLinks();
    for (let n = 0; n < 3000; n++) held.add({ appId: `m-${n}`, dataverseId: n % 1000 === 7 ? `not-a-guid-${n}` : guid(n), hash: hashCanonical({ n }) });

    expect(held.size).toBe(3000);
    for (const n of [0, 7, 1023, 1024, 2007, 2999]) {
      const id = n % 1000 === 7 ? `not-a-guid-${n}` : guid(n);
      const slot = held.byApp(`m-${n}`);
      expect(held.byDataverse(id)).toBe(slot);
      expect(held.appId(slot)).toBe(`m-${n}`);
      expect(held.dataverseId(slot)).toBe(id);
      expect(held.hash32(slot)).toBe(hash32(hashCanonical({ n })));
      expect(held.hashIs(slot, hash64Canonical({ n }))).toBe(true);
      expect(held.hashIs(slot, hash64Canonical({ n: n + 1 }))).toBe(false);
    }
    expect(held.byApp("m-3000")).toBe(-1);
    expect(held.byDataverse(guid(3000))).toBe(-1);
  });

  it("tells an app version apart from another and from none", () => {
    const held = new HeldLinks();
    held.add({ appId: "a", dataverseId: guid(1), hash: "", appVersion: "7" });
    held.add({ appId: "b", dataverseId: guid(2), hash: "", pendingCreate: true });

    expect(held.versionIs(held.byApp("a"), "7")).toBe(true);
    expect(held.versionIs(held.byApp("a"), "8")).toBe(false);
    expect(held.versionIs(held.byApp("a"), undefined)).toBe(false);
    expect(held.versionIs(held.byApp("b"), undefined)).toBe(true);
    expect(held.versionIs(held.byApp("b"), "1")).toBe(false);
    expect(held.has(held.byApp("b"), Held.PendingCreate)).toBe(true);
    expect(held.has(held.byApp("a"), Held.PendingCreate)).toBe(false);
  });

  it("keeps marks per link, and a link listed again takes its new Dataverse id", () => {
    const held = new HeldLinks();
    held.add({ appId: "a", dataverseId: guid(1), hash: "" });
    held.add({ appId: "b", dataverseId: guid(2), hash: "" });
    held.mark(held.byApp("a"), Held.SeenApp);
    expect(held.has(held.byApp("a"), Held.SeenApp)).toBe(true);
    expect(held.has(held.byApp("b"), Held.SeenApp)).toBe(false);

    held.add({ appId: "b", dataverseId: "other", hash: "" });
    expect(held.size).toBe(2);
    expect(held.byDataverse(guid(2))).toBe(-1);
    expect(held.byDataverse("other")).toBe(held.byApp("b"));
    expect(held.dataverseId(held.byApp("b"))).toBe("other");
  });
});
