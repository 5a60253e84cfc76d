import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { ErrorCodes } from "../../../shared/errors.js";
import type { DataverseClient, DataverseRow } from "../../../shared/ports.js";
import { createMemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { createLookupResolver } from "../../../shared/sync/lookups.js";

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
