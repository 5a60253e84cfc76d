import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Link } from "../../../shared/ports.js";
import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { Held } from "../../../shared/sync/heldLinks.js";
import { LinkIndex, wholeLinks } from "../../../shared/sync/linkIndex.js";

const link = (n: number): Link => ({ mapping: "mentors", appId: `m-${n}`, dataverseId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, base: { firstName: `F${n}` }, hash: `h${n}`, lastSyncedAt: "2026-12-07T00:00:00.000Z" });

async function storeWith(n: number): Promise<MemoryStateStore> {
  const state = new MemoryStateStore();
  await state.putLinks(Array.from({ length: n }, (_, i) => link(i)));
  return state;
}

describe("LinkIndex read ahead (a delta run)", () => {
  it("answers the records read ahead without a read each, a missing link included, and reads the others when asked", async () => {
    const state = await storeWith(10);
    const index = await LinkIndex.open(state, "mentors", false);
    await index.prefetch({ appIds: ["m-1", "m-2", "m-404"], dataverseIds: [link(3).dataverseId] });
    const one = [vi.spyOn(state, "getLinkByApp"), vi.spyOn(state, "getLinkByDataverse")];

    expect((await index.byAppId("m-1"))?.dataverseId).toBe(link(1).dataverseId);
    expect(await index.byAppId("m-404")).toBeNull();
    expect((await index.byDataverseId(link(3).dataverseId))?.appId).toBe("m-3");
    for (const spy of one) expect(spy).not.toHaveBeenCalled();
    expect(index.heldForApp("m-404")).toBe(true);

    expect((await index.byAppId("m-5"))?.dataverseId).toBe(link(5).dataverseId);
    expect(one[0]).toHaveBeenCalledTimes(1);
    expect(index.heldForApp("m-5")).toBe(false);
  });

  it("holds one page of app links at a time: the page before is let go and read again if asked", async () => {
    const state = await storeWith(10);
    const index = await LinkIndex.open(state, "mentors", false);
    await index.prefetch({ appIds: ["m-1", "m-2"], dataverseIds: [link(7).dataverseId] });
    await index.prefetch({ appIds: ["m-3"] });
    const one = [vi.spyOn(state, "getLinkByApp"), vi.spyOn(state, "getLinkByDataverse")];

    expect((await index.byAppId("m-3"))?.dataverseId).toBe(link(3).dataverseId);
    expect(one[0]).not.toHaveBeenCalled();
    expect((await index.byAppId("m-1"))?.dataverseId).toBe(link(1).dataverseId);
    expect(one[0]).toHaveBeenCalledTimes(1);
    // The Dataverse rows' links stay for the run.
    expect((await index.byDataverseId(link(7).dataverseId))?.appId).toBe("m-7");
    expect(one[1]).not.toHaveBeenCalled();
  });

});

describe("LinkIndex on a complete read of a mapping with few links", () => {
  it("holds them whole: no look-up reads the store", async () => {
    const state = await storeWith(5);
    const index = await LinkIndex.open(state, "mentors", true);
    const reads = [vi.spyOn(state, "getLinksByApp"), vi.spyOn(state, "getLinksByDataverse"), vi.spyOn(state, "getLinkByApp"), vi.spyOn(state, "getLinkByDataverse")];

    await index.prefetch({ appIds: ["m-1"], dataverseIds: [link(2).dataverseId] });
    expect((await index.byAppId("m-1"))?.base).toEqual({ firstName: "F1" });
    expect((await index.byDataverseId(link(2).dataverseId))?.appId).toBe("m-2");
    expect(await index.byAppId("m-404")).toBeNull();
    const out: Link[] = [];
    for await (const l of index.unaccounted((appId) => appId === "m-3")) out.push(l);
    expect(out.map((l) => l.base)).toEqual([{ firstName: "F3" }]);
    for (const spy of reads) expect(spy).not.toHaveBeenCalled();
  });
});

describe("LinkIndex on a complete read (digests held, whole links read for what is decided)", () => {
  beforeEach(() => {
    wholeLinks.upTo = 0;
  });
  afterEach(() => {
    wholeLinks.upTo = 20_000;
  });

  it("holds the digests only: an id not held is no link without a read, and held ones are read whole ahead, Dataverse ids through their app ids", async () => {
    const state = await storeWith(5);
    const digests = vi.spyOn(state, "listLinkDigests");
    const index = await LinkIndex.open(state, "mentors", true);
    expect(digests).toHaveBeenCalledTimes(1);
    const many = [vi.spyOn(state, "getLinksByApp"), vi.spyOn(state, "getLinksByDataverse")];

    await index.prefetch({ appIds: ["m-1", "m-404"], dataverseIds: [link(2).dataverseId, "00000000-0000-4000-8000-999999999999"] });
    const one = [vi.spyOn(state, "getLinkByApp"), vi.spyOn(state, "getLinkByDataverse")];

    expect(many[0].mock.calls.map((c) => c[1])).toEqual([["m-1"], ["m-2"]]);
    expect(many[1]).not.toHaveBeenCalled();
    expect((await index.byAppId("m-1"))?.base).toEqual({ firstName: "F1" });
    expect(await index.byAppId("m-404")).toBeNull();
    expect((await index.byDataverseId(link(2).dataverseId))?.appId).toBe("m-2");
    expect(await index.byDataverseId("00000000-0000-4000-8000-999999999999")).toBeNull();
    expect(await index.linksDataverseId(link(4).dataverseId)).toBe(true);
    for (const spy of one) expect(spy).not.toHaveBeenCalled();
    expect(await index.count()).toBe(5);
  });

  it("reads held links as they are now: changed since, re-pointed, or gone", async () => {
    const state = await storeWith(4);
    const index = await LinkIndex.open(state, "mentors", true);
    const now = (await state.getLinkByApp("mentors", "m-1"))!;
    await state.putLink({ ...now, base: { firstName: "Changed" } });
    await state.putLink({ ...(await state.getLinkByApp("mentors", "m-2"))!, dataverseId: "00000000-0000-4000-8000-000000000222" });
    await state.deleteLink((await state.getLinkByApp("mentors", "m-3"))!);

    await index.prefetch({ appIds: ["m-1", "m-3"], dataverseIds: [link(2).dataverseId] });

    expect((await index.byAppId("m-1"))?.base).toEqual({ firstName: "Changed" });
    expect(await index.byAppId("m-3")).toBeNull();
    // m-2's link names another row now: the row it held is no longer linked.
    expect(await index.byDataverseId(link(2).dataverseId)).toBeNull();
  });

  it("hands out the held links no app record was decided with and that `gone` picks, each read whole and fresh", async () => {
    const state = await storeWith(2500);
    const index = await LinkIndex.open(state, "mentors", true);
    const held = index.digests!;
    held.mark(held.byApp("m-7"), Held.Decided);
    await state.deleteLink((await state.getLinkByApp("mentors", "m-9"))!);
    const picked = new Set(["m-7", "m-8", "m-9", "m-2400"]);

    const out: Link[] = [];
    for await (const l of index.unaccounted((appId, dataverseId) => picked.has(appId) && dataverseId === link(Number(appId.slice(2))).dataverseId)) out.push(l);

    expect(out.map((l) => l.appId).sort()).toEqual(["m-2400", "m-8"]);
    expect(out[0].base).toBeDefined();
  });
});
