import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, contactsByMentorId, duplicatesOf } from "./faultFixtures.js";
import { contactByMentorId, mark, writesSince } from "./syncFixtures.js";

/** Ids of the contacts read again by id since a mark: `GET contacts(<guid>)` or `GET contacts?$filter=contactid eq <guid> or …`. */
function readsById(h: SyncHarness, since: number): string[] {
  return h.stack.dataverse.log.entries().slice(since).filter((e) => e.method === "GET").flatMap((e) => {
    const url = new URL(e.path, "http://x");
    const single = /\/contacts\(([0-9a-f-]{36})\)$/.exec(url.pathname)?.[1];
    if (single) return [single];
    const filter = url.pathname.endsWith("/contacts") ? url.searchParams.get("$filter") ?? "" : "";
    return [...filter.matchAll(/contactid eq ([0-9a-f-]{36})/g)].map((m) => m[1]);
  });
}

const mentorsOf = (summary: Awaited<ReturnType<SyncHarness["cycle"]>>) => summary.mappings.find((m) => m.name === "mentors")!;

// 50 echoes are checked against their own links; 300 (above the planner's limit of 200 for that) by one scan of the links' digests.
describe.each([50, 300])("the run after loading %i mentors into Dataverse", (count) => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  async function loaded(): Promise<string[]> {
    h = await startSyncHarness();
    await h.cycle();
    const added = addMentors(h, count);
    const load = await h.cycle();
    expect(mentorsOf(load).toDataverse.created).toBe(count);
    return added;
  }

  it("counts the load's own writes as skips, writes nothing and reads no row again", async () => {
    await loaded();
    const at = mark(h);

    const summary = await h.cycle({ mapping: "mentors" });

    expect(summary.status).toBe("succeeded");
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
    expect(mentorsOf(summary).toApp.skipped).toBe(count);
    expect(readsById(h, at.dv)).toEqual([]);
  });

  it("reads an echo whose link was lost again by id and links it, creating nothing twice", async () => {
    const added = await loaded();
    const lost = added[7];
    const link = await h.services.state.getLinkByApp("mentors", lost);
    await h.services.state.deleteLink(link!);
    const at = mark(h);

    const summary = await h.cycle({ mapping: "mentors" });

    expect(summary.status).toBe("succeeded");
    const contactId = String(contactByMentorId(h, lost)!.contactid);
    expect(readsById(h, at.dv)).toEqual([contactId]);
    expect(mentorsOf(summary).toApp.skipped).toBeGreaterThanOrEqual(count - 1);
    expect((await h.services.state.getLinkByApp("mentors", lost))?.dataverseId).toBe(contactId);
    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
    expect(h.stack.app.list("mentor").filter((r) => r.id === lost || r.dataverseId === contactId)).toHaveLength(1);
    // Settled: the next run writes nothing.
    const again = mark(h);
    await h.cycle({ mapping: "mentors" });
    expect(writesSince(h, again)).toEqual({ dataverse: [], app: [] });
  });
});

describe("rows our own user wrote before the sync existed", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("are planned from the first complete read like anyone's rows, not read again one by one", async () => {
    h = await startSyncHarness();
    const selfUser = h.stack.dataverse.userIdFor(h.stack.env.DYNAMICS_CLIENT_ID);
    // A migration under the integration's identity: contacts with no app record and no link.
    const migrated = Array.from({ length: 30 }, (_, i) => h.stack.dataverse.insert("contact", {
      firstname: `Migrated${i}`, lastname: "Row", emailaddress1: `migrated${i}@example.org`, hlf_certificationstatus: 100000000,
      hlf_certifieduntil: "2027-03-15", hlf_score: i, hlf_ispublic: true, hlf_hourlyrate: 300, "hlf_GroupId@odata.bind": "/hlf_mentorgroups(hlf_groupcode='g-north')",
    }, selfUser));
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(readsById(h, at.dv)).toEqual([]);
    for (const id of migrated) expect((await h.services.state.getLinkByDataverse("mentors", id))?.dataverseId).toBe(id);
  });
});
