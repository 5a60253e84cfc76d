import { describe, expect, it, vi } from "vitest";
import type { Link } from "../../../shared/ports.js";
import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { LinkIndex } from "../../../shared/sync/linkIndex.js";

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

  it("reads nothing ahead when every link is loaded", async () => {
    const state = await storeWith(3);
    const index = await LinkIndex.open(state, "mentors", true);
    const many = [vi.spyOn(state, "getLinksByApp"), vi.spyOn(state, "getLinksByDataverse")];
    await index.prefetch({ appIds: ["m-1"], dataverseIds: [link(2).dataverseId] });
    for (const spy of many) expect(spy).not.toHaveBeenCalled();
    expect((await index.byAppId("m-1"))?.dataverseId).toBe(link(1).dataverseId);
  });
});
