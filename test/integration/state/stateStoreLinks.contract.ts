import { beforeEach, describe, expect, it } from "vitest";
import type { SyncStateStore } from "../../../shared/ports.js";
import { aLink, awkwardIds, collect } from "./stateFixtures.js";

const concurrency = { kind: "conflict", code: "CONCURRENCY" };
const tooLarge = { kind: "validation", code: "PAYLOAD_TOO_LARGE" };

/** The link part of runStateStoreContract; `getStore` returns the store of the current test. */
export function describeLinkContract(getStore: () => SyncStateStore): void {
  describe("links", () => {
    let store: SyncStateStore;
    beforeEach(() => {
      store = getStore();
    });

    it("finds a stored link by its app id and by its Dataverse id", async () => {
      const saved = await store.putLink(aLink());

      const byApp = await store.getLinkByApp("mentors", "m-0001");
      const byDataverse = await store.getLinkByDataverse("mentors", aLink().dataverseId);

      expect(byApp).toEqual({ ...aLink(), etag: saved.etag });
      expect(byDataverse).toEqual(byApp);
      expect(await store.getLinkByApp("groups", "m-0001")).toBeNull();
    });

    it("updates a link with its current etag and rejects a stale one with CONCURRENCY", async () => {
      const first = await store.putLink(aLink());
      const second = await store.putLink({ ...first, hash: "h2" });

      await expect(store.putLink({ ...first, hash: "h3" })).rejects.toMatchObject(concurrency);
      expect(second.etag).not.toBe(first.etag);
      expect((await store.getLinkByApp("mentors", "m-0001"))?.hash).toBe("h2");
    });

    it("rejects an etag-guarded write of a link that was deleted meanwhile", async () => {
      const saved = await store.putLink(aLink());
      await store.deleteLink(saved);

      await expect(store.putLink({ ...saved, hash: "h2" })).rejects.toMatchObject(concurrency);
      expect(await store.getLinkByApp("mentors", "m-0001")).toBeNull();
    });

    it("re-points a link to a new Dataverse id and drops the old pointer", async () => {
      const saved = await store.putLink(aLink({ dataverseId: "dv-old" }));
      await store.putLink({ ...saved, dataverseId: "dv-new" });

      expect(await store.getLinkByDataverse("mentors", "dv-old")).toBeNull();
      expect((await store.getLinkByDataverse("mentors", "dv-new"))?.appId).toBe("m-0001");
      expect(await store.countLinks("mentors")).toBe(1);
    });

    it("removes both indexes on delete and ignores deleting a missing link", async () => {
      const saved = await store.putLink(aLink());
      await store.deleteLink(saved);
      await store.deleteLink(aLink());

      expect(await store.getLinkByApp("mentors", "m-0001")).toBeNull();
      expect(await store.getLinkByDataverse("mentors", aLink().dataverseId)).toBeNull();
      expect(await store.countLinks("mentors")).toBe(0);
    });

    it("refuses to delete a link with a stale etag", async () => {
      const first = await store.putLink(aLink());
      await store.putLink({ ...first, hash: "h2" });

      await expect(store.deleteLink(first)).rejects.toMatchObject(concurrency);
      expect((await store.getLinkByDataverse("mentors", aLink().dataverseId))?.hash).toBe("h2");
    });

    it("lists and counts every link of one mapping only, across pages", async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `m-${String(i).padStart(4, "0")}`);
      for (const id of ids) await store.putLink(aLink({ appId: id, dataverseId: `dv-${id}` }));
      await store.putLink(aLink({ mapping: "groups", appId: "g-north", dataverseId: "dv-g" }));

      const listed = await collect(store.listLinks("mentors"));

      expect(listed.map((l) => l.appId).sort()).toEqual(ids);
      expect(listed.every((l) => l.etag && l.base.firstName === "Ada")).toBe(true);
      expect(await store.countLinks("mentors")).toBe(30);
      expect(await store.countLinks("groups")).toBe(1);
    });

    it("lists the links' ids, hashes and app versions without their bases, and keeps the pendingCreate mark", async () => {
      await store.putLink(aLink({ appId: "m-0001", dataverseId: "dv-1", hash: "h1" }));
      await store.putLinks([aLink({ appId: "m-0002", dataverseId: "dv-2", hash: "", base: {}, pendingCreate: true, appVersion: undefined })]);
      await store.putLink(aLink({ mapping: "groups", appId: "g-north", dataverseId: "dv-g" }));

      const digests = (await collect(store.listLinkDigests("mentors"))).sort((a, b) => a.appId.localeCompare(b.appId));

      expect(digests).toEqual([
        { appId: "m-0001", dataverseId: "dv-1", hash: "h1", appVersion: "3" },
        { appId: "m-0002", dataverseId: "dv-2", hash: "", pendingCreate: true },
      ]);
    });

    it("round-trips ids with characters that table keys forbid", async () => {
      for (const id of awkwardIds) await store.putLink(aLink({ mapping: `map ${id}`, appId: id, dataverseId: `dv ${id}` }));

      for (const id of awkwardIds) {
        expect((await store.getLinkByApp(`map ${id}`, id))?.dataverseId).toBe(`dv ${id}`);
        expect((await store.getLinkByDataverse(`map ${id}`, `dv ${id}`))?.appId).toBe(id);
        expect((await collect(store.listLinks(`map ${id}`))).map((l) => l.appId)).toEqual([id]);
      }
    });

    it("writes many links in one putLinks call, findable by both ids, across transaction limits", async () => {
      const ids = Array.from({ length: 120 }, (_, i) => `m-${String(i).padStart(4, "0")}`);
      const links = ids.map((id) => aLink({ appId: id, dataverseId: `dv-${id}`, hash: `h-${id}` }));

      await store.putLinks([...links, aLink({ mapping: "groups", appId: "g-north", dataverseId: "dv-g" })]);

      expect(await store.countLinks("mentors")).toBe(120);
      expect(await store.countLinks("groups")).toBe(1);
      for (const id of [ids[0], ids[49], ids[50], ids[119]]) {
        expect(await store.getLinkByApp("mentors", id)).toMatchObject({ dataverseId: `dv-${id}`, hash: `h-${id}`, base: aLink().base });
        expect((await store.getLinkByDataverse("mentors", `dv-${id}`))?.appId).toBe(id);
      }
    });

    it("overwrites existing links in putLinks whatever their etag, and the last of duplicates wins", async () => {
      const stale = await store.putLink(aLink());
      await store.putLink({ ...stale, hash: "h2" });

      await store.putLinks([{ ...stale, hash: "h3" }, { ...stale, hash: "h4", base: { firstName: "Grace" } }]);

      const link = await store.getLinkByApp("mentors", "m-0001");
      expect(link).toMatchObject({ hash: "h4", base: { firstName: "Grace" } });
      expect(link?.etag).not.toBe(stale.etag);
      expect(await store.countLinks("mentors")).toBe(1);
    });

    it("stores a claim over no link, an intent, or its own link, and refuses one over another row's link", async () => {
      await store.putLink(aLink({ appId: "m-linked", dataverseId: "dv-original" }));
      await store.putLinks([aLink({ appId: "m-intent", dataverseId: "dv-intent", hash: "", base: {}, pendingCreate: true })]);
      await store.putLink(aLink({ appId: "m-again", dataverseId: "dv-again", hash: "h-old" }));
      // 60 fresh claims fill one transaction; the refused one makes its transaction go link by link.
      const fresh = Array.from({ length: 60 }, (_, i) => aLink({ appId: `m-new-${i}`, dataverseId: `dv-new-${i}`, claim: true }));
      const refusedClaim = aLink({ appId: "m-linked", dataverseId: "dv-duplicate", hash: "h-dup", claim: true });

      const refused = await store.putLinks([
        ...fresh, refusedClaim,
        aLink({ appId: "m-intent", dataverseId: "dv-intent", hash: "h-intent", claim: true }),
        aLink({ appId: "m-again", dataverseId: "dv-again", hash: "h-again", claim: true }),
        aLink({ appId: "m-plain", dataverseId: "dv-plain" }),
      ]);

      expect(refused.map((l) => [l.appId, l.dataverseId])).toEqual([["m-linked", "dv-duplicate"]]);
      expect(await store.getLinkByApp("mentors", "m-linked")).toMatchObject({ dataverseId: "dv-original", hash: aLink().hash });
      expect(await store.getLinkByDataverse("mentors", "dv-duplicate")).toBeNull();
      expect(await store.getLinkByApp("mentors", "m-intent")).toMatchObject({ dataverseId: "dv-intent", hash: "h-intent" });
      expect((await store.getLinkByApp("mentors", "m-intent"))?.pendingCreate).toBeUndefined();
      expect(await store.getLinkByApp("mentors", "m-again")).toMatchObject({ hash: "h-again" });
      expect((await store.getLinkByDataverse("mentors", "dv-new-59"))?.appId).toBe("m-new-59");
      expect((await store.getLinkByApp("mentors", "m-new-0"))?.claim).toBeUndefined();
      expect(await store.countLinks("mentors")).toBe(64);
    });

    it("writes nothing for an empty putLinks and refuses an oversized base before writing", async () => {
      await store.putLinks([]);
      await expect(store.putLinks([aLink({ appId: "m-1" }), aLink({ appId: "m-2", base: { notes: "x".repeat(500_000) } })])).rejects.toMatchObject(tooLarge);

      expect(await store.countLinks("mentors")).toBe(0);
    });

    it("keeps a base larger than one table property and refuses one beyond the entity limit", async () => {
      const big = { notes: "é".repeat(90_000), emoji: "😀".repeat(20_000) };
      await store.putLink(aLink({ base: big }));

      expect((await store.getLinkByApp("mentors", "m-0001"))?.base).toEqual(big);
      await expect(store.putLink(aLink({ appId: "m-2", base: { notes: "x".repeat(500_000) } }))).rejects.toMatchObject(tooLarge);
      expect(await store.getLinkByApp("mentors", "m-2")).toBeNull();
    });

    it("reads the links of many records at once by app id and by Dataverse id, the same as one at a time", async () => {
      // 40 links: more than one query's worth of keys; awkward ids; one mapping's links only.
      const ids = [...Array.from({ length: 40 - awkwardIds.length }, (_, i) => `m-${String(i).padStart(4, "0")}`), ...awkwardIds];
      const saved = await Promise.all(ids.map((id) => store.putLink(aLink({ appId: id, dataverseId: `dv ${id}`, hash: `h-${id}` }))));
      await store.putLink(aLink({ mapping: "groups", appId: "g-north", dataverseId: "dv g-north" }));

      const byApp = await store.getLinksByApp("mentors", [...ids, ids[0], "m-missing", "g-north"]);
      const byDataverse = await store.getLinksByDataverse("mentors", [...ids.map((id) => `dv ${id}`), "dv m-missing", "dv g-north"]);

      expect([...byApp.keys()].sort()).toEqual([...ids].sort());
      expect([...byDataverse.keys()].sort()).toEqual(ids.map((id) => `dv ${id}`).sort());
      ids.forEach((id, i) => {
        expect(byApp.get(id)).toEqual({ ...aLink({ appId: id, dataverseId: `dv ${id}`, hash: `h-${id}` }), etag: saved[i].etag });
        expect(byDataverse.get(`dv ${id}`)).toEqual(byApp.get(id));
      });
      expect(await store.getLinksByApp("mentors", [])).toEqual(new Map());
    });

    it("finds no link for a Dataverse id whose pointer outlived its link's re-pointing (the link is the truth)", async () => {
      await store.putLinks([aLink({ appId: "m-moved", dataverseId: "dv-old" }), aLink({ appId: "m-kept", dataverseId: "dv-kept" })]);
      // putLinks does not look for the old pointer: `d|dv-old` still names m-moved, whose link now names dv-new.
      await store.putLinks([aLink({ appId: "m-moved", dataverseId: "dv-new" })]);

      const links = await store.getLinksByDataverse("mentors", ["dv-old", "dv-new", "dv-kept"]);

      expect(await store.getLinkByDataverse("mentors", "dv-old")).toBeNull();
      expect(links.has("dv-old")).toBe(false);
      expect(links.get("dv-new")?.appId).toBe("m-moved");
      expect(links.get("dv-kept")?.appId).toBe("m-kept");
    });
  });
}
