import { describe, expect, it } from "vitest";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import type { AppClient, DataverseClient, DataverseRow, Link } from "../../../shared/ports.js";
import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { deliverFillIns } from "../../../shared/sync/fillIns.js";
import { hashCanonical } from "../../../shared/sync/hash.js";
import type { LookupResolver } from "../../../shared/sync/lookups.js";
import type { WriteOp } from "../../../shared/sync/writeOps.js";
import { emptyOutcome } from "../../../shared/sync/writeOutcome.js";
import { compiledMapping } from "./valuesFactories.js";

const mapping = compiledMapping({
  name: "people", entity: "person", entitySet: "contacts", table: "contact", key: "hlf_mentorid",
  fields: [{ app: "firstName", dataverse: "firstname", type: "string" }, { app: "dynamicsId", dataverse: "contactid", type: "string", direction: "to-app" }],
});

const ROW_ID = "00000000-0000-4000-8000-000000000001";
const OTHER_ROW = "00000000-0000-4000-8000-000000000002";
const row: DataverseRow = { contactid: ROW_ID, hlf_mentorid: "p-1", firstname: "Ann" };
const op: WriteOp = { kind: "create", appId: "p-1", dataverseId: ROW_ID, values: {}, base: {}, attempt: 0 };
const base = { id: "p-1", firstName: "Ann", dynamicsId: null };
const link = (dataverseId = ROW_ID): Link => ({ mapping: "people", appId: "p-1", dataverseId, base, hash: hashCanonical(base), appVersion: "v1", lastSyncedAt: "2026-03-01T12:00:00.000Z" });

/** Dataverse whose queries answer with `rows` (or fail). */
const dataverseWith = (rows: DataverseRow[] | Error) => ({
  query: async function* () {
    if (rows instanceof Error) throw rows;
    yield rows;
  },
}) as unknown as DataverseClient;

/** An app that records its updates, answering each with `answer`. */
function appAnswering(answer: () => Promise<{ id: string; version: string; updatedAt: string }>) {
  const updates: { id: string; data: Record<string, unknown>; ifMatch?: string }[] = [];
  const app = { update: async (_e: string, id: string, data: Record<string, unknown>, o?: { ifMatch?: string }) => (updates.push({ id, data, ifMatch: o?.ifMatch }), answer()) } as unknown as AppClient;
  return { app, updates };
}

const ctxWith = (state: MemoryStateStore, dataverse: DataverseClient, app: AppClient) =>
  ({ dataverse, state, app, lookups: {} as LookupResolver, now: () => "2026-03-01T12:00:05.000Z" });

describe("deliverFillIns", () => {
  it("sends what Dataverse filled in to the app, conditional on the link's app version, and adds it to the base", async () => {
    const state = new MemoryStateStore();
    await state.putLink(link());
    const { app, updates } = appAnswering(async () => ({ id: "p-1", version: "v2", updatedAt: "2026-03-01T12:00:05Z" }));

    await deliverFillIns(ctxWith(state, dataverseWith([row]), app), mapping, [op], emptyOutcome());

    expect(updates).toEqual([{ id: "p-1", data: { dynamicsId: ROW_ID }, ifMatch: "v1" }]);
    const stored = await state.getLinkByApp("people", "p-1");
    expect(stored).toMatchObject({ base: { ...base, dynamicsId: ROW_ID }, hash: hashCanonical({ ...base, dynamicsId: ROW_ID }), appVersion: "v2" });
  });

  it("writes nothing for a row whose app record is linked to another row (a duplicate being dropped)", async () => {
    const state = new MemoryStateStore();
    await state.putLink(link(OTHER_ROW));
    const { app, updates } = appAnswering(async () => ({ id: "p-1", version: "v2", updatedAt: "x" }));

    await deliverFillIns(ctxWith(state, dataverseWith([row]), app), mapping, [op], emptyOutcome());

    expect(updates).toEqual([]);
    expect((await state.getLinkByApp("people", "p-1"))?.base).toEqual(base);
  });

  it("leaves the link as it was when the app record changed meanwhile (412), for the next run to decide", async () => {
    const state = new MemoryStateStore();
    await state.putLink(link());
    const { app } = appAnswering(() => Promise.reject(new SyncError("conflict", ErrorCodes.Concurrency, "412")));
    const out = emptyOutcome();

    await deliverFillIns(ctxWith(state, dataverseWith([row]), app), mapping, [op], out);

    expect((await state.getLinkByApp("people", "p-1"))?.base).toEqual(base);
    expect(out.failures).toEqual([]);
  });

  it("fails no record when the rows cannot be read back, and says the next run delivers the values", async () => {
    const state = new MemoryStateStore();
    await state.putLink(link());
    const { app, updates } = appAnswering(async () => ({ id: "p-1", version: "v2", updatedAt: "x" }));
    const out = emptyOutcome();

    await deliverFillIns(ctxWith(state, dataverseWith(new Error("socket hang up")), app), mapping, [op], out);

    expect(updates).toEqual([]);
    expect(out.failures).toEqual([]);
    expect(out.notes).toEqual([expect.stringMatching(/could not read 1 written row\(s\) back \(socket hang up\); the values Dataverse filled in reach the app with the next run/)]);
  });
});
