import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { ErrorCodes } from "../../../shared/errors.js";
import type { AppRecord, Canonical, DataverseRow, Link } from "../../../shared/ports.js";
import { CompiledMapping } from "../../../shared/sync/compiledMapping.js";
import { decidePair, emptyDecisions, type DecideContext, type Decisions, type Pair } from "../../../shared/sync/decide.js";
import type { LookupResolver } from "../../../shared/sync/lookups.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";

const SELF = "00000000-0000-4000-8000-00000000aaaa";
const OTHER = "00000000-0000-4000-8000-00000000bbbb";
const DV_ID = "c0a80001-0000-4000-8000-000000000001";

function mappingWith(overrides: Record<string, unknown> = {}): CompiledMapping {
  const input = {
    mappings: [{
      name: "mentors",
      app: { entity: "mentor", inactiveField: { field: "active", value: false } },
      dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"] },
      direction: "both", conflict: { strategy: "newest-wins" }, deletes: "propagate",
      fields: [
        { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" },
        { app: "firstName", dataverse: "firstname", type: "string" },
        { app: "score", dataverse: "hlf_score", type: "number" },
        { app: "certificationStatus", dataverse: "hlf_certificationstatus", type: "choice", choices: { active: 100000000, expired: 100000001 } },
      ],
      ...overrides,
    }],
  } as SyncConfigInput;
  return new CompiledMapping(parseSyncConfig(input, "decide test").mappings[0], defaultRegistry);
}

const noLookups: LookupResolver = {
  toApp: () => Promise.reject(new Error("no lookups in this mapping")),
  toDataverseBind: () => Promise.reject(new Error("no lookups in this mapping")),
};

const ctxFor = (mapping = mappingWith()): DecideContext => ({ mapping, lookups: noLookups, selfUserId: SELF, runId: "run-1", now: () => "2026-03-01T12:00:00.000Z" });

const base: Canonical = { id: "m-0001", firstName: "Ingrid", score: 10, certificationStatus: "active" };
const appRecord = (data: Record<string, unknown> = {}, updatedAt = "2026-03-01T10:00:00.000Z"): AppRecord => ({
  id: "m-0001", version: "v2", updatedAt, deleted: false,
  data: { firstName: "Ingrid", score: 10, certificationStatus: "active", ...data },
});
const dvRow = (columns: Record<string, unknown> = {}, modifiedBy = OTHER, modifiedon = "2026-03-01T09:00:00Z"): DataverseRow => ({
  contactid: DV_ID, hlf_mentorid: "m-0001", firstname: "Ingrid", hlf_score: 10, hlf_certificationstatus: 100000000,
  modifiedon, _modifiedby_value: modifiedBy, "@odata.etag": 'W/"7"', ...columns,
});
const link: Link = { mapping: "mentors", appId: "m-0001", dataverseId: DV_ID, base, hash: "h", appVersion: "v1", dataverseVersion: 'W/"5"', lastSyncedAt: "2026-02-01T00:00:00.000Z" };

async function decide(pair: Pair, ctx = ctxFor()): Promise<Decisions> {
  const out = emptyDecisions();
  await decidePair(ctx, pair, out);
  return out;
}

describe("decidePair", () => {
  it("plans a Dataverse update with only the field the app changed", async () => {
    const out = await decide({ link, app: appRecord({ score: 42 }) });

    expect(out.toDataverse).toHaveLength(1);
    expect(out.toDataverse[0]).toMatchObject({ kind: "update", appId: "m-0001", dataverseId: DV_ID, values: { score: 42 } });
    expect(out.toDataverse[0].base).toEqual({ ...base, score: 42 });
    expect(out.toApp).toEqual([]);
  });

  it("marks a one-sided update as carrying the whole base, so its link can be stored without a merge", async () => {
    const out = await decide({ link, app: appRecord({ score: 42 }) });

    expect(out.toDataverse[0]).toMatchObject({ fullBase: true, base: { ...base, score: 42 } });
  });

  it("does not mark updates as whole-base when both sides are written or the link points elsewhere", async () => {
    const both = await decide({ link, app: appRecord({ score: 42 }), dv: dvRow({ firstname: "Ingrid-Marie" }) });
    const repointed = await decide({ link: { ...link, dataverseId: "c0a80001-0000-4000-8000-000000000999" }, app: appRecord({ score: 42 }), dv: dvRow() });

    expect(both.toDataverse[0]?.fullBase).toBeUndefined();
    expect(both.toApp[0]?.fullBase).toBeUndefined();
    expect(repointed.toDataverse[0]?.fullBase).toBeUndefined();
  });

  it("does not send back a row last written by the integration's own user that holds what was last synced", async () => {
    const out = await decide({ link, dv: dvRow({}, SELF) });

    expect(out.toApp).toEqual([]);
    expect(out.toDataverse).toEqual([]);
    expect(out.skipped.toApp).toBe(1);
  });

  it("sends a row last written by the integration's own user whose values differ from what was synced (an edit just before our write)", async () => {
    const out = await decide({ link, dv: dvRow({ firstname: "Changed" }, SELF) });

    expect(out.toApp).toHaveLength(1);
    expect(out.toApp[0].values).toEqual({ firstName: "Changed" });
  });

  it("sends the same Dataverse change to the app when another user made it", async () => {
    const out = await decide({ link, dv: dvRow({ firstname: "Changed" }, OTHER) });

    expect(out.toApp).toHaveLength(1);
    expect(out.toApp[0].values).toEqual({ firstName: "Changed" });
  });

  it("writes nothing when the mapped values equal the last synced ones", async () => {
    const out = await decide({ link, app: appRecord(), dv: dvRow() });

    expect(out.toApp).toEqual([]);
    expect(out.toDataverse).toEqual([]);
    expect(out.conflicts).toBe(0);
  });

  it("links an unlinked pair with equal values without any write", async () => {
    const out = await decide({ app: appRecord(), dv: dvRow() });

    expect(out.toApp).toEqual([]);
    expect(out.toDataverse).toEqual([]);
    expect(out.linkUpdates).toHaveLength(1);
    expect(out.linkUpdates[0]).toMatchObject({ appId: "m-0001", dataverseId: DV_ID, base });
  });

  it("treats differing values of an unlinked pair as a conflict resolved by the strategy", async () => {
    const out = await decide({ app: appRecord({ score: 1 }, "2026-03-01T10:00:00.000Z"), dv: dvRow({ hlf_score: 2 }, OTHER, "2026-03-01T11:00:00Z") });

    expect(out.conflicts).toBe(1);
    expect(out.toApp.map((o) => o.values)).toEqual([{ score: 2 }]);
    expect(out.toDataverse).toEqual([]);
  });

  it("parks a manual conflict for review and writes neither side", async () => {
    const ctx = ctxFor(mappingWith({ conflict: { strategy: "manual" } }));

    const out = await decide({ link, app: appRecord({ score: 1 }), dv: dvRow({ hlf_score: 2 }) }, ctx);

    expect(out.toApp).toEqual([]);
    expect(out.toDataverse).toEqual([]);
    expect(out.conflicts).toBe(1);
    expect(out.parked).toHaveLength(1);
    expect(out.parked[0]).toMatchObject({ mapping: "mentors", appId: "m-0001", dataverseId: DV_ID, status: "open", fields: [{ field: "score", app: 1, dataverse: 2, base: 10 }] });
  });

  it("fails only the record whose choice value is outside the map, naming the reason", async () => {
    const out = await decide({ link, app: appRecord({ certificationStatus: "suspended" }) });

    expect(out.toDataverse).toEqual([]);
    expect(out.failures).toHaveLength(1);
    expect(out.failures[0]).toMatchObject({ direction: "toDataverse", recordId: "m-0001", code: ErrorCodes.Unmappable });
    expect(out.failures[0].message).toContain("suspended");
  });

  it("fails a Dataverse row whose choice value has no app value", async () => {
    const out = await decide({ link, dv: dvRow({ hlf_certificationstatus: 100000009 }) });

    expect(out.toApp).toEqual([]);
    expect(out.failures.map((f) => [f.direction, f.recordId, f.code])).toEqual([["toApp", DV_ID, ErrorCodes.Unmappable]]);
  });

  it("creates a Dataverse-only row in the app with the fields that may go to the app", async () => {
    const out = await decide({ dv: dvRow({ hlf_mentorid: null }) });

    expect(out.toApp).toHaveLength(1);
    expect(out.toApp[0]).toMatchObject({ kind: "create", dataverseId: DV_ID });
    expect(Object.keys(out.toApp[0].values).sort()).toEqual(["certificationStatus", "firstName", "score"]);
  });

  it("plans a delete on the other side when the policy is propagate", async () => {
    const out = await decide({ link, appGone: true });

    expect(out.deletes).toEqual([{ direction: "toDataverse", op: expect.objectContaining({ kind: "delete", appId: "m-0001", dataverseId: DV_ID }) }]);
  });

  it("plans a deactivation when the policy is deactivate", async () => {
    const out = await decide({ link, dvGone: true }, ctxFor(mappingWith({ deletes: "deactivate" })));

    expect(out.deletes).toEqual([{ direction: "toApp", op: expect.objectContaining({ kind: "deactivate", appId: "m-0001" }) }]);
  });

  it("only unlinks when the policy is ignore", async () => {
    const out = await decide({ link, appGone: true }, ctxFor(mappingWith({ deletes: "ignore" })));

    expect(out.deletes).toEqual([]);
    expect(out.linkRemovals).toEqual([link]);
  });

  it("does not create an inactive, unlinked Dataverse row in the app when deletes deactivate", async () => {
    const inactive = dvRow({ hlf_mentorid: null, statecode: 1 });

    const deactivating = await decide({ dv: inactive }, ctxFor(mappingWith({ deletes: "deactivate" })));
    const propagating = await decide({ dv: inactive });

    expect(deactivating.toApp).toEqual([]);
    expect(deactivating.skipped.toApp).toBe(1);
    expect(propagating.toApp.map((o) => o.kind)).toEqual(["create"]);
  });

  it("keeps a Dataverse change pending (FILTERED) while its linked app record is outside app.filter", async () => {
    const ctx = ctxFor(mappingWith({ app: { entity: "mentor", filter: "score > 50" } }));
    const out = await decide({ link, app: appRecord(), dv: dvRow({ firstname: "Changed" }) }, ctx);

    expect(out.toApp).toEqual([]);
    expect(out.pending).toMatchObject([{ direction: "toApp", code: ErrorCodes.Filtered, appId: "m-0001", dataverseId: DV_ID }]);
  });

  it("holds nothing back for a filtered record when the mapping writes nothing in that direction", async () => {
    const ctx = ctxFor(mappingWith({ app: { entity: "mentor", filter: "score > 50" }, direction: "to-dataverse" }));
    const out = await decide({ link, app: appRecord(), dv: dvRow({ firstname: "Changed" }) }, ctx);

    expect(out.pending).toEqual([]);
    expect(out.skipped.toDataverse).toBe(1);
  });

  it("parks a manual conflict and keeps the record pending, so its other changes are not lost", async () => {
    const ctx = ctxFor(mappingWith({ conflict: { strategy: "manual" } }));
    const out = await decide({ link, app: appRecord({ firstName: "Anna" }), dv: dvRow({ firstname: "Berit", hlf_score: 11 }) }, ctx);

    expect(out.parked).toHaveLength(1);
    expect(out.pending).toMatchObject([{ code: ErrorCodes.ConflictParked, appId: "m-0001", dataverseId: DV_ID }]);
  });
});
