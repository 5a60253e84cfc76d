import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, contactsByMentorId, duplicatesOf } from "./faultFixtures.js";
import { contactByMentorId, editDataverse, linkReads } from "./syncFixtures.js";

let h: SyncHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** `count` mentors loaded into Dataverse and settled (the run after the load absorbed its echoes). */
async function settled(count: number): Promise<{ h: SyncHarness; mentors: string[] }> {
  h = await startSyncHarness();
  await h.cycle();
  const mentors = addMentors(h, count);
  expect((await h.cycle()).status).toBe("succeeded");
  expect((await h.cycle()).status).toBe("succeeded");
  return { h, mentors };
}

const forMentors = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.filter(([mapping]) => mapping === "mentors");

// A nightly delta of a large mapping must not hold every link of the mapping (each with its base):
// it reads the links of the records it carries, a few queries for all of them.
describe.each([40, 240])("a delta of %i Dataverse edits and 6 app edits", (edits) => {
  it("reads only those records' links, ahead and together, and syncs every edit", async () => {
    const { h, mentors } = await settled(edits + 20);
    const contactOf = (id: string) => String(contactByMentorId(h, id)!.contactid);
    const edited = mentors.slice(0, edits);
    for (const [i, id] of edited.entries()) editDataverse(h, "contact", contactOf(id), { firstname: `Edited${i}` });
    const inApp = mentors.slice(edits, edits + 6);
    for (const id of inApp) h.stack.app.put("mentor", id, { ...h.stack.app.get("mentor", id)!.data, lastName: "AppSide" });
    const reads = linkReads(h);

    const summary = await h.cycle({ mapping: "mentors" });

    expect(summary.status).toBe("succeeded");
    expect(forMentors(reads.whole)).toEqual([]);
    for (const one of reads.one) expect(forMentors(one)).toEqual([]);
    expect(forMentors(reads.byDataverse).map(([, ids]) => [...(ids as string[])].sort())).toEqual([edited.map(contactOf).sort()]);
    expect(forMentors(reads.byApp).map(([, ids]) => [...(ids as string[])].sort())).toEqual([[...inApp].sort()]);
    for (const [i, id] of edited.entries()) expect(h.stack.app.get("mentor", id)?.data?.firstName).toBe(`Edited${i}`);
    for (const id of inApp) expect(contactByMentorId(h, id)?.lastname).toBe("AppSide");
    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
  }, 180_000);
});
