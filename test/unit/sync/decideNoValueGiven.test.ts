import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { ErrorCodes } from "../../../shared/errors.js";
import type { AppRecord, DataverseRow, Link } from "../../../shared/ports.js";
import { CompiledMapping } from "../../../shared/sync/compiledMapping.js";
import { decidePair, emptyDecisions, type Decisions, type Pair } from "../../../shared/sync/decide.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";

/**
 * Issue #19 part A, items 1 and 4: an answer that gives no value never becomes a null written over a
 * value. A live app record without data fails; a field absent from the app's data or from a row's
 * JSON keeps what the other side (or the last sync) holds; a side that was not read is not "every
 * field null".
 */

const SELF = "00000000-0000-4000-8000-00000000aaaa";
const DV_ID = "c0a80001-0000-4000-8000-000000000001";

function mapping(strategy: string): CompiledMapping {
  const input = {
    mappings: [{
      name: "mentors", app: { entity: "mentor" }, dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"] },
      direction: "both", conflict: { strategy }, deletes: "propagate",
      fields: [
        { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" },
        { app: "firstName", dataverse: "firstname", type: "string" },
        { app: "score", dataverse: "hlf_score", type: "number" },
      ],
    }],
  } as SyncConfigInput;
  return new CompiledMapping(parseSyncConfig(input, "no value given").mappings[0], defaultRegistry);
}

async function decide(pair: Pair, strategy = "newest-wins"): Promise<Decisions> {
  const out = emptyDecisions();
  const lookups = { toApp: () => Promise.reject(new Error("none")), toDataverseBind: () => Promise.reject(new Error("none")) };
  await decidePair({ mapping: mapping(strategy), lookups, selfUserId: SELF, runId: "r", now: () => "2026-03-01T12:00:00.000Z" }, pair, out);
  return out;
}

const app = (data: Record<string, unknown> | null, updatedAt = "2026-03-01T10:00:00.000Z"): AppRecord => ({ id: "m-0001", version: "v2", updatedAt, deleted: false, data });
const row = (columns: Record<string, unknown> = {}, modifiedon = "2026-03-01T11:00:00Z"): DataverseRow => ({
  contactid: DV_ID, hlf_mentorid: "m-0001", firstname: "Ingrid", hlf_score: 10, modifiedon, _modifiedby_value: SELF, "@odata.etag": 'W/"7"', ...columns,
});
const link: Link = { mapping: "mentors", appId: "m-0001", dataverseId: DV_ID, base: { id: "m-0001", firstName: "Ingrid", score: 10 }, hash: "h", appVersion: "v1", lastSyncedAt: "2026-02-01T00:00:00.000Z" };

describe("no value given is not null", () => {
  it("fails a live app record whose data is null as UNEXPECTED_RESPONSE, writing nothing to either side", async () => {
    for (const pair of [{ link, app: app(null) }, { app: app(null) }, { app: app(null), dv: row() }]) {
      const out = await decide(pair);
      expect(out.failures).toEqual([expect.objectContaining({ direction: "toDataverse", recordId: "m-0001", code: ErrorCodes.UnexpectedResponse })]);
      expect([out.toDataverse, out.toApp, out.linkUpdates]).toEqual([[], [], []]);
    }
  });

  it("fails a record the app client marked with a problem, whatever its data", async () => {
    const out = await decide({ app: { ...app({ firstName: "X" }), problem: "mentor record 3 of 3 has no version" } });
    expect(out.failures[0]).toMatchObject({ code: ErrorCodes.UnexpectedResponse, message: expect.stringContaining("has no version") });
    expect(out.toDataverse).toEqual([]);
  });

  it("keeps the last-synced value of a field absent from the app's data, and sends only what changed", async () => {
    const out = await decide({ link, app: app({ score: 42 }) });
    expect(out.toDataverse).toEqual([expect.objectContaining({ values: { score: 42 } })]);
    expect(out.toDataverse[0].base).toMatchObject({ firstName: "Ingrid", score: 42 });
  });

  it("takes the other side's value for a field absent from an unlinked record, so matching by key writes no null", async () => {
    const out = await decide({ app: app({ score: 10 }), dv: row() }, "app-wins");
    expect(out.toDataverse).toEqual([]);
    expect(out.toApp).toEqual([]);
  });

  it("sends the app no null for a column absent from the row's JSON", async () => {
    const { firstname: _omitted, ...withoutName } = row({ hlf_score: 66 });
    const out = await decide({ link, dv: withoutName });
    expect(out.toApp).toEqual([expect.objectContaining({ values: { score: 66 } })]);
  });

  it("under app-wins, a create intent met with its row only writes no null over the row (the unread app side is not 'every field null')", async () => {
    const out = await decide({ link: { ...link, pendingCreate: true }, dv: row({ firstname: "Kari" }) }, "app-wins");
    expect(out.toDataverse).toEqual([]);
  });

  it("item 4: an unlinked row last written by our own user meeting an app record by key sends the app the row's values under dataverse-wins", async () => {
    const out = await decide({ app: app({ firstName: "AppName", score: 1 }), dv: row({ firstname: "Dv", hlf_score: 5 }) }, "dataverse-wins");
    expect(out.toApp).toEqual([expect.objectContaining({ kind: "update", values: { firstName: "Dv", score: 5 } })]);
    expect(out.toDataverse).toEqual([]);
  });

  it("item 4: under newest-wins an older app value does not overwrite a newer row written by our own user", async () => {
    const out = await decide({ app: app({ firstName: "Old", score: 1 }, "2026-03-01T10:00:00.000Z"), dv: row({ firstname: "New" }, "2026-03-01T11:00:00Z") });
    expect(out.toDataverse).toEqual([]);
    expect(out.toApp).toEqual([expect.objectContaining({ values: { firstName: "New", score: 10 } })]);
  });
});
