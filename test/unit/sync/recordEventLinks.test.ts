import { describe, expect, it, vi } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import type { Link } from "../../../shared/ports.js";
import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { CompiledMapping } from "../../../shared/sync/compiledMapping.js";
import { withParentLinks } from "../../../shared/sync/eventLookups.js";
import type { LookupResolver } from "../../../shared/sync/lookups.js";
import { linksOfDataverseIds } from "../../../shared/sync/recordEvents.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";

const link = (appId: string, dataverseId: string): Link => ({ mapping: "mentors", appId, dataverseId, base: {}, hash: "h", lastSyncedAt: "2025-01-01T00:00:00.000Z" });

async function storeWith(...links: Link[]): Promise<MemoryStateStore> {
  const store = new MemoryStateStore();
  for (const l of links) await store.putLink(l);
  return store;
}

describe("links of a batch of Dataverse notices", () => {
  it("reads the links of rows whose key names their app record by app id, without a pointer read", async () => {
    const store = await storeWith(link("m-1", "dv-1"), link("m-2", "dv-2"));
    const byDataverse = vi.spyOn(store, "getLinksByDataverse");
    const rows = new Map([["dv-1", { contactid: "dv-1", hlf_mentorid: "m-1" }], ["dv-2", { contactid: "dv-2", hlf_mentorid: "m-2" }]]);

    const links = await linksOfDataverseIds(store, "mentors", ["dv-1", "dv-2"], rows, "hlf_mentorid");

    expect([...links].map(([dv, l]) => [dv, l.appId])).toEqual([["dv-1", "m-1"], ["dv-2", "m-2"]]);
    expect(byDataverse).not.toHaveBeenCalled();
  });

  it("goes through the pointer when the key names an app record linked to another row, names none, or the row was not read", async () => {
    // m-1's key was copied onto dv-9 (say, by hand); dv-9's own link is m-9.
    const store = await storeWith(link("m-1", "dv-1"), link("m-9", "dv-9"), link("m-3", "dv-3"), link("m-4", "dv-4"));
    const byDataverse = vi.spyOn(store, "getLinksByDataverse");
    const rows = new Map([["dv-9", { contactid: "dv-9", hlf_mentorid: "m-1" }], ["dv-3", { contactid: "dv-3", hlf_mentorid: null }]]);

    const links = await linksOfDataverseIds(store, "mentors", ["dv-9", "dv-3", "dv-4", "dv-none"], rows, "hlf_mentorid");

    expect(links.get("dv-9")?.appId).toBe("m-9");
    expect(links.get("dv-3")?.appId).toBe("m-3");
    expect(links.get("dv-4")?.appId).toBe("m-4");
    expect(links.has("dv-none")).toBe(false);
    expect(byDataverse).toHaveBeenCalledTimes(1);
    expect(byDataverse.mock.calls[0][1]).toEqual(["dv-9", "dv-3", "dv-4", "dv-none"]);
  });

  it("reads every link through its pointer when the mapping's key is not the app id", async () => {
    const store = await storeWith(link("m-1", "dv-1"));
    const byApp = vi.spyOn(store, "getLinksByApp");
    const byDataverse = vi.spyOn(store, "getLinksByDataverse");

    const links = await linksOfDataverseIds(store, "mentors", ["dv-1"], new Map([["dv-1", { contactid: "dv-1", hlf_mentorid: "m-1" }]]), undefined);

    expect(links.get("dv-1")?.appId).toBe("m-1");
    expect(byApp).not.toHaveBeenCalled();
    expect(byDataverse).toHaveBeenCalledWith("mentors", ["dv-1"]);
  });
});

describe("the parents a batch of rows names", () => {
  const mentors = new CompiledMapping(parseSyncConfig({
    mappings: [
      { name: "groups", app: { entity: "group" }, dataverse: { entitySet: "hlf_mentorgroups", table: "hlf_mentorgroup", key: ["hlf_groupcode"] }, direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore", fields: [{ app: "id", dataverse: "hlf_groupcode", type: "string", direction: "to-dataverse" }] },
      {
        name: "mentors", app: { entity: "mentor" }, dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"] }, direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore",
        fields: [{ app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" }, { app: "groupId", dataverse: "hlf_groupid", type: "lookup", lookup: { mapping: "groups", navigationProperty: "hlf_GroupId" } }],
      },
    ],
  } as SyncConfigInput, "parent links test").mappings[1], defaultRegistry);
  const field = mentors.fields[1];
  const inner: LookupResolver = { toApp: async (_m, _f, id) => `by-key-of-${id}`, toDataverseBind: async (_m, _f, ref) => `bind-${ref}` };

  it("resolves every linked parent from one batch read and leaves an unlinked one to the resolver it wraps", async () => {
    const store = new MemoryStateStore();
    await store.putLink({ ...link("g-north", "dv-g1"), mapping: "groups" });
    const byDataverse = vi.spyOn(store, "getLinksByDataverse");
    const rows = [{ _hlf_groupid_value: "dv-g1" }, { _hlf_groupid_value: "dv-g1" }, { _hlf_groupid_value: "dv-g2" }, { _hlf_groupid_value: null }, null];

    const lookups = await withParentLinks(store, mentors, rows, inner);

    expect(byDataverse).toHaveBeenCalledTimes(1);
    expect(byDataverse.mock.calls[0]).toEqual(["groups", ["dv-g1", "dv-g2"]]);
    expect(await lookups.toApp(mentors.mapping, field, "dv-g1")).toBe("g-north");
    expect(lookups.knownToApp?.(mentors.mapping, field, "dv-g1")).toBe("g-north");
    expect(await lookups.toApp(mentors.mapping, field, "dv-g2")).toBe("by-key-of-dv-g2");
    expect(await lookups.toDataverseBind(mentors.mapping, field, "g-north")).toBe("bind-g-north");
  });
});
