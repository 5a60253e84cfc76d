import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { ErrorCodes } from "../../../shared/errors.js";
import type { DataverseClient, DataverseRow, SyncStateStore } from "../../../shared/ports.js";
import { createMemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { createLookupResolver, memoizeLookups } from "../../../shared/sync/lookups.js";

const GROUP_ID = "9b3f6c1e-0d4a-4e5b-8c2d-000000000001";

function configWith(groupKeyField: "id" | "name") {
  return parseSyncConfig({
    mappings: [
      {
        name: "groups", app: { entity: "group" }, dataverse: { entitySet: "hlf_mentorgroups", table: "hlf_mentorgroup", key: ["hlf_groupcode"] },
        direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore",
        fields: [{ app: groupKeyField, dataverse: "hlf_groupcode", type: "string", direction: "to-dataverse" }, { app: "region", dataverse: "hlf_region", type: "string" }],
      },
      {
        name: "mentors", app: { entity: "mentor" }, dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"] },
        direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore",
        fields: [
          { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" },
          { app: "groupId", dataverse: "hlf_groupid", type: "lookup", lookup: { mapping: "groups", navigationProperty: "hlf_GroupId" } },
        ],
      },
    ],
  } as SyncConfigInput, "lookups test");
}

/** Only `retrieve` is used by the resolver; it serves one group row. */
function dataverseWith(row: DataverseRow | null): DataverseClient {
  return { retrieve: async () => row } as unknown as DataverseClient;
}

describe("lookup resolution to the app", () => {
  it("names an unlinked parent by its key column when the parent's key is the app id", async () => {
    const config = configWith("id");
    const resolver = createLookupResolver(config, createMemoryStateStore(), dataverseWith({ hlf_mentorgroupid: GROUP_ID, hlf_groupcode: "g-north" }));
    const [, mentors] = config.mappings;

    const appRef = await resolver.toApp(mentors, mentors.fields[1], GROUP_ID);

    expect(appRef).toBe("g-north");
  });

  it("fails as unresolved when the unlinked parent's key column is empty", async () => {
    const config = configWith("id");
    const resolver = createLookupResolver(config, createMemoryStateStore(), dataverseWith({ hlf_mentorgroupid: GROUP_ID, hlf_groupcode: null }));
    const [, mentors] = config.mappings;

    await expect(resolver.toApp(mentors, mentors.fields[1], GROUP_ID)).rejects.toMatchObject({ code: ErrorCodes.UnresolvedLookup });
  });

  it("does not guess from the key column when the parent's key is not the app id", async () => {
    const config = configWith("name");
    const resolver = createLookupResolver(config, createMemoryStateStore(), dataverseWith({ hlf_mentorgroupid: GROUP_ID, hlf_groupcode: "North" }));
    const [, mentors] = config.mappings;

    await expect(resolver.toApp(mentors, mentors.fields[1], GROUP_ID)).rejects.toMatchObject({ code: ErrorCodes.UnresolvedLookup });
  });
});

describe("memoized lookups (one write message)", () => {
  it("reads each distinct parent link once however many children point at it", async () => {
    // Prepare: two linked groups; a state store that counts link reads.
    const config = configWith("id");
    const state = createMemoryStateStore();
    for (const [appId, n] of [["g-north", 1], ["g-south", 2]] as const) {
      await state.putLink({ mapping: "groups", appId, dataverseId: GROUP_ID.replace(/1$/, String(n)), base: {}, hash: "h", lastSyncedAt: "2026-01-01T00:00:00Z" });
    }
    let reads = 0;
    const counting: SyncStateStore = Object.assign(Object.create(state) as SyncStateStore, {
      getLinkByApp: (mapping: string, appId: string) => (reads++, state.getLinkByApp(mapping, appId)),
    });
    const lookups = memoizeLookups(createLookupResolver(config, counting, dataverseWith(null)));
    const [, mentors] = config.mappings;

    // Act: 500 children over two parents, and one unknown parent asked twice.
    const binds = await Promise.all(Array.from({ length: 500 }, (_, i) => lookups.toDataverseBind(mentors, mentors.fields[1], i % 2 ? "g-north" : "g-south")));
    const unknown = await Promise.allSettled([1, 2].map(() => lookups.toDataverseBind(mentors, mentors.fields[1], "g-west")));

    // Assess: the answers are the per-record answers, with three reads in all.
    expect(new Set(binds)).toEqual(new Set([`/hlf_mentorgroups(${GROUP_ID})`, `/hlf_mentorgroups(${GROUP_ID.replace(/1$/, "2")})`]));
    expect(unknown.map((u) => u.status)).toEqual(["rejected", "rejected"]);
    expect(reads).toBe(3);
  });

  it("knows a settled answer without an await, and forgets a transient failure so the next child asks again", async () => {
    const config = configWith("id");
    const state = createMemoryStateStore();
    await state.putLink({ mapping: "groups", appId: "g-north", dataverseId: GROUP_ID, base: {}, hash: "h", lastSyncedAt: "2026-01-01T00:00:00Z" });
    let failNext = true;
    const flaky: SyncStateStore = Object.assign(Object.create(state) as SyncStateStore, {
      getLinkByDataverse: (mapping: string, id: string) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error("Table Storage briefly unavailable"));
        }
        return state.getLinkByDataverse(mapping, id);
      },
    });
    const lookups = memoizeLookups(createLookupResolver(config, flaky, dataverseWith(null)));
    const [, mentors] = config.mappings;

    await expect(lookups.toApp(mentors, mentors.fields[1], GROUP_ID)).rejects.toThrow("briefly unavailable");
    expect(lookups.knownToApp!(mentors, mentors.fields[1], GROUP_ID)).toBeUndefined();
    expect(await lookups.toApp(mentors, mentors.fields[1], GROUP_ID)).toBe("g-north");
    expect(lookups.knownToApp!(mentors, mentors.fields[1], GROUP_ID)).toBe("g-north");
  });
});
