import { TableClient, type TransactionAction } from "@azure/data-tables";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Link } from "../../../shared/ports.js";
import { encodeKey } from "../../../shared/state/keys.js";
import { LINK_BUCKETS, TableLinks } from "../../../shared/state/tableLinks.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { aLink, collect } from "./stateFixtures.js";

/**
 * The link table's layout on Azurite: a new mapping's links spread over LINK_BUCKETS partitions
 * (one partition serves about 2,000 entities a second), a mapping with links from before keeps its
 * single partition, and with buckets a link and its pointer are two writes that a crash, a lost race
 * or a refused claim can separate: none of them may leave a link its Dataverse id cannot find.
 */
let client: TableClient;
/** When set, a transaction that writes an `a|` entity calls it first (and fails when it throws): the moment between a pointer and its link. */
let beforeLinkWrite: (() => Promise<void>) | undefined;
/** The row keys of every entity the store's transactions wrote, in order. */
let written: string[] = [];

beforeEach(async () => {
  client = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName("links"), { allowInsecureConnection: true });
  await client.createTable();
  beforeLinkWrite = undefined;
  written = [];
});
afterEach(async () => {
  await client.deleteTable();
});

/** The store's view of the table, with a hook in front of every transaction that writes a link. */
function links(): TableLinks {
  const hooked = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "submitTransaction") return Reflect.get(target, prop, receiver);
      return async (actions: TransactionAction[]) => {
        const hook = beforeLinkWrite;
        if (hook && actions.some((a) => String(a[1].rowKey).startsWith("a|"))) await hook();
        written.push(...actions.map((a) => String(a[1].rowKey)));
        return target.submitTransaction(actions);
      };
    },
  });
  return new TableLinks(hooked);
}

async function rows(): Promise<Array<{ partitionKey: string; rowKey: string; appId?: unknown; buckets?: unknown }>> {
  return collect(client.listEntities<Record<string, unknown>>()) as Promise<Array<{ partitionKey: string; rowKey: string; appId?: unknown; buckets?: unknown }>>;
}

const many = (n: number): Link[] => Array.from({ length: n }, (_, i) => aLink({ appId: `m-${i}`, dataverseId: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}` }));
const crash = async () => {
  throw new Error("the process died here");
};
/** The call failed because of the injected death (the store wraps it in a SyncError naming the write). */
async function expectCrash(call: Promise<unknown>): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e as Error & { cause?: Error });
  expect(String(error?.cause?.message ?? error?.message)).toContain("the process died here");
}

describe("link layout (Table Storage)", () => {
  it("spreads a new mapping's links over its bucket partitions, and finds, lists and counts them all", async () => {
    const store = links();
    await store.putMany(many(400));

    const all = await rows();
    const linkRows = all.filter((r) => r.rowKey.startsWith("a|"));
    const partitions = new Map<string, number>();
    for (const r of linkRows) partitions.set(r.partitionKey, (partitions.get(r.partitionKey) ?? 0) + 1);
    expect(linkRows).toHaveLength(400);
    expect(partitions.size).toBe(LINK_BUCKETS);
    for (const [pk, n] of partitions) {
      expect(pk.startsWith(`${encodeKey("mentors")}|`)).toBe(true);
      expect(n).toBeLessThan(400 / 4);
    }
    expect(new Set(all.filter((r) => r.rowKey.startsWith("d|")).map((r) => r.partitionKey)).size).toBe(LINK_BUCKETS);
    expect(all.find((r) => r.partitionKey === "~layout")).toMatchObject({ rowKey: "mentors", buckets: LINK_BUCKETS });

    expect(await store.count("mentors")).toBe(400);
    expect((await collect(store.list("mentors"))).map((l) => l.appId).sort()).toEqual(many(400).map((l) => l.appId).sort());
    expect(await collect(store.digests("mentors"))).toHaveLength(400);
    const fresh = links();
    for (const l of many(400).filter((_, i) => i % 37 === 0)) {
      expect((await fresh.getByDataverse("mentors", l.dataverseId))?.appId).toBe(l.appId);
      expect((await fresh.getByApp("mentors", l.appId))?.dataverseId).toBe(l.dataverseId);
    }
    const byDv = await fresh.getManyByDataverse("mentors", many(400).map((l) => l.dataverseId));
    expect(byDv.size).toBe(400);
  });

  it("keeps a mapping whose links predate buckets in its single partition, link and pointer side by side", async () => {
    const pk = encodeKey("mentors");
    await client.submitTransaction([
      ["create", { partitionKey: pk, rowKey: "a|old-1", appId: "old-1", dataverseId: "dv-old-1", hash: "h", lastSyncedAt: "2025-01-01T00:00:00.000Z" }],
      ["create", { partitionKey: pk, rowKey: "d|dv-old-1", appId: "old-1" }],
    ]);
    const store = links();

    expect((await store.getByDataverse("mentors", "dv-old-1"))?.appId).toBe("old-1");
    await store.putMany(many(30));
    await store.put(aLink({ appId: "one", dataverseId: "dv-one" }));

    const all = await rows();
    expect(all.filter((r) => r.partitionKey !== "~layout").every((r) => r.partitionKey === pk)).toBe(true);
    expect(all.find((r) => r.partitionKey === "~layout")).toMatchObject({ buckets: 1 });
    expect(await store.count("mentors")).toBe(32);
    // Another mapping in the same table starts with buckets.
    await store.put(aLink({ mapping: "groups", appId: "g-1", dataverseId: "dv-g-1" }));
    expect((await rows()).find((r) => r.rowKey === "a|g-1")?.partitionKey).toMatch(/^groups\|\d+$/);
  });

  for (const layout of ["buckets", "a single partition"] as const) {
    it(`writes a link marked pointerWritten without its pointer, and the pointer it stored before still finds it (${layout})`, async () => {
      if (layout === "a single partition") await client.createEntity({ partitionKey: "~layout", rowKey: "mentors", buckets: 1 });
      const store = links();
      const first = many(120);
      await store.putMany(first);
      expect(written.filter((k) => k.startsWith("d|"))).toHaveLength(120);

      // The same pairs again with a new base, as a key write-back's links follow their claims.
      written = [];
      const again = first.map((l) => ({ ...l, base: { ...l.base, firstName: `again-${l.appId}` }, pointerWritten: true }));
      const added = many(122).slice(120);
      await store.putMany([...again.slice(0, 100), ...added]);

      expect(written.filter((k) => k.startsWith("a|"))).toHaveLength(102);
      // Only the two links without the mark wrote their pointers.
      expect(written.filter((k) => k.startsWith("d|"))).toHaveLength(2);
      const fresh = links();
      for (const l of again.filter((_, i) => i % 9 === 0 && i < 100)) {
        const found = await fresh.getByDataverse("mentors", l.dataverseId);
        expect(found?.appId).toBe(l.appId);
        expect(found?.base.firstName).toBe(`again-${l.appId}`);
        expect(found).not.toHaveProperty("pointerWritten");
      }
      for (const l of added) expect((await fresh.getByDataverse("mentors", l.dataverseId))?.appId).toBe(l.appId);
      expect((await rows()).every((r) => !("pointerWritten" in r))).toBe(true);
    });
  }

  it("a pair deleted by another writer between its claim and its marked link is written again, found by its app id and in listings, and its next write restores the pointer", async () => {
    const store = links();
    const claim = aLink({ appId: "a-1", dataverseId: "00000000-0000-0000-0000-00000000a001", claim: true });
    await store.putMany([claim]);
    // Another process deletes the pair (link first, pointer second) while the key write-back runs.
    await links().delete((await store.getByApp("mentors", "a-1"))!);
    expect((await rows()).filter((r) => r.rowKey.endsWith("a-1") || r.rowKey.endsWith("a001"))).toEqual([]);

    await store.putMany([{ ...claim, claim: undefined, base: { ...claim.base, firstName: "keyed" }, pointerWritten: true }]);

    const fresh = links();
    expect((await fresh.getByApp("mentors", "a-1"))?.base.firstName).toBe("keyed");
    expect((await collect(fresh.digests("mentors"))).map((d) => [d.appId, d.dataverseId])).toEqual([["a-1", claim.dataverseId]]);
    await fresh.putMany([{ ...claim, claim: undefined, base: { ...claim.base, firstName: "next" } }]);
    expect((await links().getByDataverse("mentors", claim.dataverseId))?.base.firstName).toBe("next");
  });

  it("lets processes that meet a new mapping together agree on one layout", async () => {
    const [a, b, c] = [links(), links(), links()];
    await Promise.all([a.putMany(many(50)), b.put(aLink({ appId: "b", dataverseId: "dv-b" })), c.put(aLink({ appId: "c", dataverseId: "dv-c" }))]);

    expect((await rows()).filter((r) => r.partitionKey === "~layout")).toHaveLength(1);
    for (const s of [a, b, c]) {
      expect((await s.getByDataverse("mentors", "dv-b"))?.appId).toBe("b");
      expect(await s.count("mentors")).toBe(52);
    }
  });

  it("names the mapping when its layout entity is damaged", async () => {
    await client.createEntity({ partitionKey: "~layout", rowKey: "mentors", buckets: "eight" });

    await expect(links().getByApp("mentors", "m-1")).rejects.toThrow(/link layout of mapping mentors is damaged \(buckets: eight\)/);
  });

  describe("a link and its pointer in two partitions", () => {
    it("a process dying between the pointers and the links of a batch leaves nothing findable, and the retried batch completes", async () => {
      const store = links();
      beforeLinkWrite = crash;

      await expectCrash(store.putMany(many(120)));
      // Every pointer is written, no link: no Dataverse id finds a link that is not there.
      expect((await rows()).filter((r) => r.rowKey.startsWith("d|"))).toHaveLength(120);
      expect(await store.getByDataverse("mentors", many(120)[7].dataverseId)).toBeNull();
      expect((await store.getManyByDataverse("mentors", many(120).map((l) => l.dataverseId))).size).toBe(0);
      expect(await store.count("mentors")).toBe(0);

      beforeLinkWrite = undefined;
      await store.putMany(many(120));
      expect((await store.getManyByDataverse("mentors", many(120).map((l) => l.dataverseId))).size).toBe(120);
    });

    it("a process dying between a single link's pointer and the link leaves the link as it was", async () => {
      const store = links();
      const saved = await store.put(aLink({ dataverseId: "dv-1" }));
      beforeLinkWrite = crash;

      await expectCrash(store.put({ ...saved, dataverseId: "dv-2" }));
      expect((await store.getByDataverse("mentors", "dv-1"))?.etag).toBe(saved.etag);
      expect(await store.getByDataverse("mentors", "dv-2")).toBeNull();

      beforeLinkWrite = undefined;
      await store.put({ ...saved, dataverseId: "dv-2" });
      expect((await store.getByDataverse("mentors", "dv-2"))?.appId).toBe("m-0001");
      expect(await store.getByDataverse("mentors", "dv-1")).toBeNull();
    });

    it("a link that loses its race to another writer puts the Dataverse id's pointer back to the link that holds it", async () => {
      const store = links();
      const holder = await store.put(aLink({ appId: "holder", dataverseId: "dv-x" }));
      const mine = await store.put(aLink({ appId: "mine", dataverseId: "dv-y" }));
      // Between our pointer and our link, another writer changes our link.
      beforeLinkWrite = async () => {
        beforeLinkWrite = undefined;
        await client.updateEntity({ partitionKey: (await rows()).find((r) => r.rowKey === "a|mine")!.partitionKey, rowKey: "a|mine", appId: "mine", dataverseId: "dv-y", hash: "theirs", lastSyncedAt: "2025-01-02T00:00:00.000Z" }, "Merge");
      };

      await expect(store.put({ ...mine, dataverseId: "dv-x" })).rejects.toMatchObject({ code: "CONCURRENCY" });
      expect((await store.getByDataverse("mentors", "dv-x"))?.appId).toBe(holder.appId);
      expect((await store.getByDataverse("mentors", "dv-y"))?.hash).toBe("theirs");
    });

    it("a refused claim takes its pointer back, so the Dataverse id finds what it found before", async () => {
      const store = links();
      await store.put(aLink({ appId: "a-1", dataverseId: "dv-first" }));

      const refused = await store.putMany([aLink({ appId: "a-1", dataverseId: "dv-second", claim: true }), aLink({ appId: "a-2", dataverseId: "dv-third", claim: true })]);

      expect(refused.map((l) => l.appId)).toEqual(["a-1"]);
      expect(await store.getByDataverse("mentors", "dv-second")).toBeNull();
      expect((await rows()).some((r) => r.rowKey === "d|dv-second")).toBe(false);
      expect((await store.getByDataverse("mentors", "dv-first"))?.appId).toBe("a-1");
      expect((await store.getByDataverse("mentors", "dv-third"))?.appId).toBe("a-2");
    });

    it("deletes the link before its pointer: a process dying in between leaves a pointer that finds nothing", async () => {
      const store = links();
      const saved = await store.put(aLink({ dataverseId: "dv-1" }));
      const deleteEntity = client.deleteEntity.bind(client);
      let deletes = 0;
      client.deleteEntity = (async (...args: Parameters<TableClient["deleteEntity"]>) => {
        if (++deletes === 2) throw new Error("the process died here");
        return deleteEntity(...args);
      }) as TableClient["deleteEntity"];

      await expectCrash(store.delete(saved));
      client.deleteEntity = deleteEntity;
      expect((await rows()).some((r) => r.rowKey === "d|dv-1")).toBe(true);
      expect(await store.getByDataverse("mentors", "dv-1")).toBeNull();
      expect(await store.getByApp("mentors", "m-0001")).toBeNull();
    });
  });
});
