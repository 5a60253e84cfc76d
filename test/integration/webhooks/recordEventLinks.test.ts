import { afterEach, describe, expect, it } from "vitest";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { GROUPS, groupId, mentorId, mentorRecord } from "../../bench/benchData.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { linkReads } from "../sync/syncFixtures.js";

let h: SyncHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** `n` mentors synced once, each linked to its contact (the contact's key column names the mentor). */
async function linkedMentors(n: number): Promise<{ h: SyncHarness; contactOf: Map<string, string> }> {
  h = await startSyncHarness({ seed: false });
  for (let g = 0; g < GROUPS; g++) h.stack.app.put("group", groupId(g), { name: `Group ${g}`, region: `Region ${g % 4}` });
  for (let i = 0; i < n; i++) h.stack.app.put("mentor", mentorRecord(i).id, mentorRecord(i).data);
  expect((await h.cycle()).status).toBe("succeeded");
  return { h, contactOf: new Map(h.stack.dataverse.rows("contact").map((r) => [String(r.hlf_mentorid), String(r.contactid)])) };
}

describe("the links of a batch of record events", () => {
  it("are read for 60 Dataverse notices by their rows' keys, with their parents' links, a call per 50, no read per record", async () => {
    const { h, contactOf } = await linkedMentors(60);
    const events: RecordEventMessage[] = [];
    for (let i = 0; i < 60; i++) {
      h.stack.dataverse.ctx.ops.update("contact", contactOf.get(mentorId(i))!, { firstname: `Edited${i}` }, h.stack.person.userId);
      events.push({ mapping: "mentors", side: "dataverse", id: contactOf.get(mentorId(i))!, message: "Update", receivedAt: new Date().toISOString() });
    }
    const reads = linkReads(h);

    const result = await h.services.engine.handleRecordEvents(events);

    expect(result.failed).toEqual([]);
    for (const one of reads.one) expect(one).not.toHaveBeenCalled();
    // No mentor pointer is read (the contacts' keys name the mentors); the groups they name, once per 50.
    expect(reads.byDataverse.mock.calls.map(([mapping]) => mapping)).toEqual(["groups", "groups"]);
    expect(reads.byApp.mock.calls.map(([, ids]) => ids.length)).toEqual([50, 10]);
    for (let i = 0; i < 60; i++) expect(h.stack.app.get("mentor", mentorId(i))?.data?.firstName).toBe(`Edited${i}`);
  }, 120_000);

  it("are read for app notices in one call, and a record without a link is created, not lost", async () => {
    const { h } = await linkedMentors(5);
    for (let i = 0; i < 5; i++) h.stack.app.put("mentor", mentorId(i), { ...mentorRecord(i).data, firstName: `App${i}` });
    const fresh = mentorRecord(5);
    h.stack.app.put("mentor", fresh.id, fresh.data);
    const events = [0, 1, 2, 3, 4, 5].map((i): RecordEventMessage => ({ mapping: "mentors", side: "app", id: mentorId(i), receivedAt: new Date().toISOString() }));
    const reads = linkReads(h);

    const result = await h.services.engine.handleRecordEvents(events);

    expect(result.failed).toEqual([]);
    expect(reads.one[1]).not.toHaveBeenCalled();
    expect(reads.byApp).toHaveBeenCalledTimes(1);
    const byKey = new Map(h.stack.dataverse.rows("contact").map((r) => [String(r.hlf_mentorid), r]));
    for (let i = 0; i < 5; i++) expect(byKey.get(mentorId(i))?.firstname).toBe(`App${i}`);
    expect(byKey.get(fresh.id)).toBeDefined();
    expect((await h.services.state.getLinkByApp("mentors", fresh.id))?.dataverseId).toBe(String(byKey.get(fresh.id)?.contactid));
  }, 120_000);
});
