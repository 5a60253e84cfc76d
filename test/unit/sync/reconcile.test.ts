import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import type { AppRecord, Canonical, DataverseRow, Link } from "../../../shared/ports.js";
import { CompiledMapping } from "../../../shared/sync/compiledMapping.js";
import { decidePair, emptyDecisions, type DecideContext, type Decisions, type Pair } from "../../../shared/sync/decide.js";
import type { LookupResolver } from "../../../shared/sync/lookups.js";
import { divergedFields, noteDivergence } from "../../../shared/sync/reconcile.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";

const OTHER = "00000000-0000-4000-8000-00000000bbbb";
const DV_ID = "c0a80001-0000-4000-8000-000000000001";

function mappingWith(overrides: Record<string, unknown> = {}): CompiledMapping {
  const input = {
    mappings: [{
      name: "mentors",
      app: { entity: "mentor", inactiveField: { field: "active", value: false }, filter: "score >= 0" },
      dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"] },
      direction: "both", conflict: { strategy: "newest-wins" }, deletes: "propagate",
      fields: [
        { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" },
        { app: "firstName", dataverse: "firstname", type: "string" },
        { app: "score", dataverse: "hlf_score", type: "number" },
        { app: "rate", dataverse: "hlf_hourlyrate", type: "number", direction: "to-app" },
      ],
      ...overrides,
    }],
  } as SyncConfigInput;
  return new CompiledMapping(parseSyncConfig(input, "reconcile test").mappings[0], defaultRegistry);
}

const noLookups: LookupResolver = {
  toApp: () => Promise.reject(new Error("no lookups in this mapping")),
  toDataverseBind: () => Promise.reject(new Error("no lookups in this mapping")),
};

const ctxFor = (mapping = mappingWith(), reconcile = true): DecideContext =>
  ({ mapping, lookups: noLookups, selfUserId: "", runId: "run-1", now: () => "2026-03-01T12:00:00.000Z", reconcile });

const base: Canonical = { id: "m-0001", firstName: "Ingrid", score: 10, rate: 300 };
const app = (data: Record<string, unknown> = {}): AppRecord => ({
  id: "m-0001", version: "v2", updatedAt: "2026-03-01T10:00:00.000Z", deleted: false, data: { firstName: "Ingrid", score: 10, rate: 300, ...data },
});
const dv = (columns: Record<string, unknown> = {}): DataverseRow => ({
  contactid: DV_ID, hlf_mentorid: "m-0001", firstname: "Ingrid", hlf_score: 10, hlf_hourlyrate: 300, statecode: 0,
  modifiedon: "2026-03-01T09:00:00Z", _modifiedby_value: OTHER, "@odata.etag": 'W/"7"', ...columns,
});
const link: Link = { mapping: "mentors", appId: "m-0001", dataverseId: DV_ID, base, hash: "h", appVersion: "v1", dataverseVersion: 'W/"5"', lastSyncedAt: "2026-02-01T00:00:00.000Z" };

async function divergence(pair: Pair, ctx = ctxFor()): Promise<Decisions["divergence"]> {
  const out = emptyDecisions();
  await decidePair(ctx, pair, out);
  return out.divergence;
}

describe("divergence of a reconcile run (decidePair → noteDivergence)", () => {
  it("counts nothing for a linked record whose sides agree", async () => {
    expect(await divergence({ link, app: app(), dv: dv() })).toEqual({ records: 0, fields: {} });
  });

  it("counts a linked record whose sides differ, by field", async () => {
    const d = await divergence({ link, app: app({ score: 42 }), dv: dv({ firstname: "Ingrid-Marie" }) });

    expect(d).toEqual({ records: 1, fields: { firstName: 1, score: 1 } });
  });

  it("adds up records and fields over a run", async () => {
    const ctx = ctxFor();
    const out = emptyDecisions();
    await decidePair(ctx, { link, app: app({ score: 42 }), dv: dv() }, out);
    await decidePair(ctx, { link: { ...link, appId: "m-0002" }, app: { ...app({ score: 7 }), id: "m-0002" }, dv: dv({ hlf_mentorid: "m-0002" }) }, out);
    await decidePair(ctx, { link, app: app(), dv: dv() }, out);

    expect(out.divergence).toEqual({ records: 2, fields: { score: 2 } });
  });

  it("counts nothing outside a reconcile run", async () => {
    expect(await divergence({ link, app: app({ score: 42 }), dv: dv() }, ctxFor(mappingWith(), false))).toEqual({ records: 0, fields: {} });
  });

  it("respects a one-way field: the target's own edit is allowed, the source's undelivered change diverges", async () => {
    // rate is to-app: Dataverse is its source.
    const appEdited = await divergence({ link, app: app({ rate: 999 }), dv: dv() });
    const sourceMoved = await divergence({ link, app: app(), dv: dv({ hlf_hourlyrate: 350 }) });
    const noBase = await divergence({ app: app({ rate: 999 }), dv: dv() });

    expect(appEdited).toEqual({ records: 0, fields: {} });
    expect(sourceMoved).toEqual({ records: 1, fields: { rate: 1 } });
    expect(noBase).toEqual({ records: 1, fields: { rate: 1 } });
  });

  it("counts a linked record gone from one side, but not one gone from both", async () => {
    expect(await divergence({ link, app: app(), dvGone: true })).toEqual({ records: 1, fields: {} });
    expect(await divergence({ link, dv: dv(), appGone: true })).toEqual({ records: 1, fields: {} });
    expect(await divergence({ link, appGone: true, dvGone: true })).toEqual({ records: 0, fields: {} });
  });

  it("does not count a row gone from Dataverse whose app record is already deactivated (a synced delete)", async () => {
    const ctx = ctxFor(mappingWith({ deletes: "deactivate" }));

    expect(await divergence({ link, app: app({ active: false }), dvGone: true }, ctx)).toEqual({ records: 0, fields: {} });
    expect(await divergence({ link, app: app({ active: true }), dvGone: true }, ctx)).toEqual({ records: 1, fields: {} });
  });

  it("counts an unlinked record present on one side only when it would be created on the other", async () => {
    expect(await divergence({ app: app() })).toEqual({ records: 1, fields: {} });
    expect(await divergence({ dv: dv() })).toEqual({ records: 1, fields: {} });
    // A mapping that only writes to Dataverse never creates app records.
    expect(await divergence({ dv: dv() }, ctxFor(mappingWith({ direction: "to-dataverse", fields: [
      { app: "id", dataverse: "hlf_mentorid", type: "string" }, { app: "firstName", dataverse: "firstname", type: "string" },
    ] })))).toEqual({ records: 0, fields: {} });
    // Under deactivate, an inactive Dataverse row stands for a deleted record.
    expect(await divergence({ dv: dv({ statecode: 1 }) }, ctxFor(mappingWith({ deletes: "deactivate" })))).toEqual({ records: 0, fields: {} });
  });

  it("does not count a record the mapping's filter leaves out, nor one whose values cannot be converted", async () => {
    expect(await divergence({ link, app: app({ score: -1 }), dv: dv() })).toEqual({ records: 0, fields: {} });
    expect(await divergence({ link, app: app({ score: "not a number" }), dv: dv() })).toEqual({ records: 0, fields: {} });
  });

  it("leaves out a linked record seen on one side only (nothing known about the other)", () => {
    const out = emptyDecisions();
    noteDivergence(ctxFor(), { link, app: app({ score: 42 }) }, { ...base, score: 42 }, undefined, out);

    expect(out.divergence).toEqual({ records: 0, fields: {} });
  });
});

describe("divergedFields", () => {
  const fields = mappingWith().mergeFields;

  it("treats null and a missing value as equal, like the hash", () => {
    expect(divergedFields(fields, { id: "m-1", firstName: null }, { id: "m-1" }, undefined)).toEqual([]);
  });

  it("compares decimals as their canonical strings", () => {
    expect(divergedFields(fields, { score: "1234567.1234567891" }, { score: "1234567.1234567892" }, undefined)).toEqual(["score"]);
  });

  it("ignores differences outside the mapped fields (a record mapper's extra values)", () => {
    expect(divergedFields(fields, { id: "m-1", extra: 1 }, { id: "m-1", extra: 2 }, undefined)).toEqual([]);
  });
});
