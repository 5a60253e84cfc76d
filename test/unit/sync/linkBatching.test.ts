import { describe, expect, it, vi } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import type { AppClient, BulkResult, BulkWrite, DataverseClient, Link } from "../../../shared/ports.js";
import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { CompiledMapping } from "../../../shared/sync/compiledMapping.js";
import { writeToApp } from "../../../shared/sync/appWriter.js";
import { writeToDataverse, type WriterContext } from "../../../shared/sync/dataverseWriter.js";
import type { LookupResolver } from "../../../shared/sync/lookups.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import type { WriteOp } from "../../../shared/sync/writeOps.js";

const mapping = new CompiledMapping(parseSyncConfig({
  mappings: [{
    name: "mentors", app: { entity: "mentor" },
    dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"] },
    direction: "both", conflict: { strategy: "newest-wins" }, deletes: "propagate",
    fields: [
      { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" },
      { app: "firstName", dataverse: "firstname", type: "string" },
      { app: "score", dataverse: "hlf_score", type: "number" },
    ],
  }],
} as SyncConfigInput, "link batching test").mappings[0], defaultRegistry);

const noLookups: LookupResolver = {
  toApp: () => Promise.reject(new Error("no lookups")),
  toDataverseBind: () => Promise.reject(new Error("no lookups")),
};

const dvId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const create = (n: number): WriteOp => {
  const values = { id: `m-${n}`, firstName: `F${n}`, score: n };
  return { kind: "create", appId: `m-${n}`, dataverseId: dvId(n), values, base: values, appVersion: `v${n}`, attempt: 0 };
};

/** Dataverse that accepts every write, echoing the ids. */
const acceptingDataverse = { writeMany: async (_s: string, _t: string, writes: BulkWrite[]): Promise<BulkResult[]> => writes.map((w) => ({ ref: w.ref, ok: true, id: w.id })) } as unknown as DataverseClient;

function contextWith(state: MemoryStateStore): WriterContext {
  return { dataverse: acceptingDataverse, state, lookups: noLookups, maxAttempts: 5, backoffMs: () => 1000, now: () => "2026-03-01T12:00:00.000Z" };
}

describe("link writes of the Dataverse writer", () => {
  it("stores the links of creates and whole-base updates in one putLinks call, and merges only the partial update", async () => {
    const state = new MemoryStateStore();
    const existing: Link = { mapping: "mentors", appId: "m-9", dataverseId: dvId(9), base: { id: "m-9", firstName: "Old", score: 1 }, hash: "h", lastSyncedAt: "2026-01-01T00:00:00.000Z" };
    await state.putLink(existing);
    await state.putLink({ ...existing, appId: "m-8", dataverseId: dvId(8) });
    const putLinks = vi.spyOn(state, "putLinks");
    const getLinkByApp = vi.spyOn(state, "getLinkByApp");
    const fullUpdate: WriteOp = { kind: "update", appId: "m-8", dataverseId: dvId(8), values: { score: 80 }, base: { id: "m-8", firstName: "Old", score: 80 }, fullBase: true, attempt: 0 };
    const partialUpdate: WriteOp = { kind: "update", appId: "m-9", dataverseId: dvId(9), values: { score: 90 }, base: { score: 90 }, attempt: 0 };

    const out = await writeToDataverse(contextWith(state), mapping, [create(1), create(2), fullUpdate, partialUpdate]);

    expect(out.counts).toMatchObject({ created: 2, updated: 2, failed: 0 });
    expect(putLinks).toHaveBeenCalledTimes(1);
    expect(putLinks.mock.calls[0][0].map((l) => l.appId).sort()).toEqual(["m-1", "m-2", "m-8"]);
    expect(getLinkByApp.mock.calls.map((c) => c[1])).toEqual(["m-9"]);
    expect((await state.getLinkByDataverse("mentors", dvId(1)))).toMatchObject({ appId: "m-1", appVersion: "v1", base: create(1).base });
    expect((await state.getLinkByApp("mentors", "m-8"))?.base).toEqual({ id: "m-8", firstName: "Old", score: 80 });
    expect((await state.getLinkByApp("mentors", "m-9"))?.base).toEqual({ id: "m-9", firstName: "Old", score: 90 });
  });

  it("retries the batched ops instead of counting them written when their links cannot be stored", async () => {
    const state = new MemoryStateStore();
    vi.spyOn(state, "putLinks").mockRejectedValue(new SyncError("transient", ErrorCodes.Network, "storage unavailable"));

    const out = await writeToDataverse(contextWith(state), mapping, [create(1), create(2)]);

    expect(out.counts.created).toBe(0);
    expect(out.finished).toBe(0);
    expect(out.retries.map((op) => [op.appId, op.attempt])).toEqual([["m-1", 1], ["m-2", 1]]);
  });
});

/** Every app update accepted, with a new version. */
const acceptingApp = { update: async () => ({ id: "", version: "v2" }) } as unknown as AppClient;

describe("pairings by key (WriteOp.pairedByKey)", () => {
  const paired = (n: number, whole: boolean): WriteOp => ({
    kind: "update", appId: `m-${n}`, dataverseId: dvId(n), values: { score: n }, base: whole ? { id: `m-${n}`, firstName: `F${n}`, score: n } : { score: n },
    attempt: 0, pairedByKey: true, ...(whole ? { fullBase: true } : {}),
  });
  const writers = {
    Dataverse: (state: MemoryStateStore, ops: WriteOp[]) => writeToDataverse(contextWith(state), mapping, ops),
    app: (state: MemoryStateStore, ops: WriteOp[]) => writeToApp({ ...contextWith(state), app: acceptingApp, concurrency: 4 }, mapping, ops),
  };
  for (const [side, write] of Object.entries(writers)) {
    it(`the ${side} writer links one only while the app record has no link to another row (whole base or not), and decides a refused one again`, async () => {
      const state = new MemoryStateStore();
      // m-5 and m-7 were linked to other rows after the pairings were decided; m-6 still has no link.
      for (const n of [5, 7]) await state.putLink({ mapping: "mentors", appId: `m-${n}`, dataverseId: dvId(10 * n), base: {}, hash: "h", lastSyncedAt: "2026-01-01T00:00:00.000Z" });

      const out = await write(state, [paired(5, false), paired(6, true), paired(7, true)]);

      expect((await state.getLinkByApp("mentors", "m-6"))?.dataverseId).toBe(dvId(6));
      for (const n of [5, 7]) {
        expect((await state.getLinkByApp("mentors", `m-${n}`))?.dataverseId).toBe(dvId(10 * n));
        expect(await state.getLinkByDataverse("mentors", dvId(n))).toBeNull();
      }
      expect(out.counts).toMatchObject({ updated: 1, failed: 0 });
      expect(out.retries.map((op) => [op.appId, op.dataverseId, op.refresh, op.pairedByKey, op.attempt]).sort()).toEqual([
        ["m-5", dvId(5), true, undefined, 1], ["m-7", dvId(7), true, undefined, 1],
      ]);
    });

    it(`the ${side} writer does not take over a link stored between its read of the app record and its write (not whole base)`, async () => {
      const state = new MemoryStateStore();
      const read = state.getLinkByApp.bind(state);
      // Another writer links m-4 to another row just after this writer found it unlinked.
      vi.spyOn(state, "getLinkByApp").mockImplementation(async (mapping, appId) => {
        const found = await read(mapping, appId);
        if (appId === "m-4" && !found) await state.putLink({ mapping: "mentors", appId: "m-4", dataverseId: dvId(40), base: {}, hash: "h", lastSyncedAt: "2026-01-01T00:00:00.000Z" });
        return found;
      });

      const out = await write(state, [paired(4, false)]);

      expect((await read("mentors", "m-4"))?.dataverseId).toBe(dvId(40));
      expect(out.retries.map((op) => [op.appId, op.refresh])).toEqual([["m-4", true]]);
    });
  }
});

describe("a pair's second link write in one message leaves its pointer alone (Link.pointerWritten)", () => {
  it("a natural-key create's link follows its intent without its pointer, unless Dataverse answered with another id", async () => {
    const natural = new CompiledMapping(parseSyncConfig({
      mappings: [{
        name: "mentors", app: { entity: "mentor" }, dataverse: { entitySet: "contacts", table: "contact", key: ["emailaddress1"] },
        direction: "both", conflict: { strategy: "newest-wins" }, deletes: "propagate",
        fields: [{ app: "email", dataverse: "emailaddress1", type: "string" }, { app: "firstName", dataverse: "firstname", type: "string" }],
      }],
    } as SyncConfigInput, "natural key test").mappings[0], defaultRegistry);
    const op = (n: number): WriteOp => {
      const values = { email: `m${n}@example.com`, firstName: `F${n}` };
      return { kind: "create", appId: `m-${n}`, dataverseId: dvId(n), values, base: values, appVersion: `v${n}`, attempt: 0 };
    };
    // The third row comes back under another id than the one planned.
    const dataverse = { writeMany: async (_s: string, _t: string, writes: BulkWrite[]) => writes.map((w) => ({ ref: w.ref, ok: true, id: w.ref === "2" ? dvId(99) : w.id })) } as unknown as DataverseClient;
    const state = new MemoryStateStore();
    const putLinks = vi.spyOn(state, "putLinks");

    const out = await writeToDataverse({ ...contextWith(state), dataverse }, natural, [op(1), op(2), op(3)]);

    expect(out.counts).toMatchObject({ created: 3, failed: 0 });
    const [intents, links] = putLinks.mock.calls.map((c) => c[0]);
    expect(intents.map((l) => [l.appId, l.pendingCreate, l.pointerWritten])).toEqual([["m-1", true, undefined], ["m-2", true, undefined], ["m-3", true, undefined]]);
    expect(links.map((l) => [l.appId, l.dataverseId, l.pointerWritten])).toEqual([["m-1", dvId(1), true], ["m-2", dvId(2), true], ["m-3", dvId(99), undefined]]);
    expect((await state.getLinkByDataverse("mentors", dvId(99)))?.appId).toBe("m-3");
    expect(await state.getLinkByDataverse("mentors", dvId(2))).not.toHaveProperty("pointerWritten");
  });

  it("a key write-back's links follow their claims without their pointers", async () => {
    let next = 0;
    const app = { create: async () => ({ id: `a-${++next}`, version: "1" }) } as unknown as AppClient;
    const born = (n: number): WriteOp => {
      const values = { firstName: `F${n}`, score: n };
      return { kind: "create", dataverseId: dvId(n), values, base: values, dataverseVersion: `W/"${n}"`, attempt: 0 };
    };
    const state = new MemoryStateStore();
    const putLinks = vi.spyOn(state, "putLinks");

    const out = await writeToApp({ ...contextWith(state), app, concurrency: 1 }, mapping, [born(1), born(2)]);

    expect(out.counts).toMatchObject({ created: 2, failed: 0 });
    const [claims, links] = putLinks.mock.calls.map((c) => c[0]);
    expect(claims.map((l) => [l.appId, l.claim, l.pointerWritten, l.base.id])).toEqual([["a-1", true, undefined, undefined], ["a-2", true, undefined, undefined]]);
    expect(links.map((l) => [l.appId, l.claim, l.pointerWritten, l.base.id])).toEqual([["a-1", undefined, true, "a-1"], ["a-2", undefined, true, "a-2"]]);
    expect((await state.getLinkByDataverse("mentors", dvId(2)))?.base).toMatchObject({ id: "a-2" });
  });
});
