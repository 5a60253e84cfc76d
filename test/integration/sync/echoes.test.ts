import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, contactsByMentorId, duplicatesOf } from "./faultFixtures.js";
import { contactByMentorId, mark, writesSince } from "./syncFixtures.js";

/** Ids of the contacts read one by id (`GET contacts(<guid>)`) since a mark. */
function readsById(h: SyncHarness, since: number): string[] {
  return h.stack.dataverse.log.entries().slice(since)
    .map((e) => e.method === "GET" ? /\/contacts\(([0-9a-f-]{36})\)/.exec(e.path)?.[1] : undefined).filter((id): id is string => !!id);
}

const mentorsOf = (summary: Awaited<ReturnType<SyncHarness["cycle"]>>) => summary.mappings.find((m) => m.name === "mentors")!;

// 50 echoes are checked link by link; 300 (above the planner's preload threshold of 200) by one scan of the links.
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
