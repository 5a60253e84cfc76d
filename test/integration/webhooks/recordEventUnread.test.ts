import { afterEach, describe, expect, it } from "vitest";
import { drainMemoryQueues } from "../../../shared/runtime/queuePump.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { GROUPS, groupId, mentorId, mentorRecord } from "../../bench/benchData.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { demoConfig, startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

let h: SyncHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** `n` mentors synced once from the app (each linked to its contact, at the app version it was read). */
async function linkedMentors(n: number, config?: SyncConfigInput): Promise<{ h: SyncHarness; contactOf: (i: number) => string }> {
  h = await startSyncHarness({ seed: false, config });
  for (let g = 0; g < GROUPS; g++) h.stack.app.put("group", groupId(g), { name: `Group ${g}`, region: `Region ${g % 4}` });
  for (let i = 0; i < n; i++) h.stack.app.put("mentor", mentorRecord(i).id, mentorRecord(i).data);
  expect((await h.cycle()).status).toBe("succeeded");
  const contacts = new Map(h.stack.dataverse.rows("contact").map((r) => [String(r.hlf_mentorid), String(r.contactid)]));
  return { h, contactOf: (i) => contacts.get(mentorId(i))! };
}

/** A person's edit of mentor `i`'s contact in Dataverse, and its webhook notice. */
function editInDataverse(h: SyncHarness, contactId: string, body: Record<string, unknown>): RecordEventMessage {
  h.stack.dataverse.ctx.ops.update("contact", contactId, body, h.stack.person.userId);
  return { mapping: "mentors", side: "dataverse", id: contactId, message: "Update", receivedAt: new Date().toISOString() };
}

const mentorRequests = (h: SyncHarness, since: number, method: string) =>
  h.stack.app.requests.slice(since).filter((r) => r.method === method && r.path.startsWith("/sync/mentor/"));
const work = (h: SyncHarness) => drainMemoryQueues(h.services, async (queue, _m, error) => { throw new Error(`poisoned on ${queue}: ${error}`); });
const contactOf = (h: SyncHarness, id: string) => h.stack.dataverse.rows("contact").find((r) => r.contactid === id)!;

describe("a Dataverse edit written to the app at the link's app version", () => {
  it("is written without reading the app record, If-Match the version the link holds", async () => {
    const { h, contactOf: contact } = await linkedMentors(3);
    const versions = await Promise.all([0, 1, 2].map(async (i) => (await h.services.state.getLinkByApp("mentors", mentorId(i)))!.appVersion));
    const events = [0, 1, 2].map((i) => editInDataverse(h, contact(i), { firstname: `Edited${i}` }));
    const since = h.stack.app.requests.length;

    const result = await h.services.engine.handleRecordEvents(events);

    expect(result.failed).toEqual([]);
    expect(versions.every((v) => typeof v === "string" && v)).toBe(true);
    expect(mentorRequests(h, since, "GET")).toEqual([]);
    expect(mentorRequests(h, since, "PATCH").map((r) => [r.path.split("?")[0], r.headers["if-match"], r.status]))
      .toEqual([0, 1, 2].map((i) => [`/sync/mentor/${mentorId(i)}`, `"${versions[i]}"`, 200]));
    for (let i = 0; i < 3; i++) expect(h.stack.app.get("mentor", mentorId(i))?.data).toMatchObject({ ...mentorRecord(i).data, firstName: `Edited${i}` });
    // The link now holds the version of that write: the next edit is written at it.
    expect((await h.services.state.getLinkByApp("mentors", mentorId(0)))?.appVersion).toBe(h.stack.app.get("mentor", mentorId(0))?.version);
  }, 60_000);

  it("meets an app edit made since with 412, reads both sides and merges: both edits survive, each written once", async () => {
    const { h, contactOf: contact } = await linkedMentors(2);
    // A person edits mentor 0's last name in the app (its notice has not come yet) while another edits the first name in Dynamics.
    h.stack.app.patch("mentor", mentorId(0), { lastName: "FromApp" });
    const events = [editInDataverse(h, contact(0), { firstname: "FromDynamics" }), editInDataverse(h, contact(1), { firstname: "Plain" })];
    const since = h.stack.app.requests.length;
    const dvSince = h.stack.dataverse.log.entries().length;

    const result = await h.services.engine.handleRecordEvents(events);
    await work(h);

    expect(result.failed).toEqual([]);
    const patches = mentorRequests(h, since, "PATCH").filter((r) => r.path.includes(mentorId(0)));
    expect(patches.map((r) => r.status)).toEqual([412, 200]);
    expect(mentorRequests(h, since, "GET").map((r) => r.path.split("?")[0])).toEqual([`/sync/mentor/${mentorId(0)}`]);
    expect(h.stack.app.get("mentor", mentorId(0))?.data).toMatchObject({ firstName: "FromDynamics", lastName: "FromApp" });
    expect(contactOf(h, contact(0))).toMatchObject({ firstname: "FromDynamics", lastname: "FromApp" });
    expect(h.stack.dataverse.log.entries().slice(dvSince).filter((e) => e.method === "PATCH" && e.path.includes(contact(0)))).toHaveLength(1);
    expect(h.stack.app.get("mentor", mentorId(1))?.data?.firstName).toBe("Plain");
    expect(await h.services.state.listDeadLetters({ mapping: "mentors", limit: 10 })).toEqual([]);
  }, 60_000);

  it("meets a concurrent app edit of the same field with 412, and the re-read lets the app's value win under app-wins", async () => {
    const config = demoConfig();
    for (const m of config.mappings) if (m.name === "mentors") m.conflict = { strategy: "app-wins" };
    const { h, contactOf: contact } = await linkedMentors(1, config);
    const event = editInDataverse(h, contact(0), { firstname: "FromDynamics" });
    h.stack.app.patch("mentor", mentorId(0), { firstName: "FromApp" });
    const since = h.stack.app.requests.length;

    const result = await h.services.engine.handleRecordEvents([event]);
    await work(h);

    expect(result.failed).toEqual([]);
    // The write decided without the app record was refused; the app's newer value was never overwritten.
    expect(mentorRequests(h, since, "PATCH").map((r) => r.status)).toEqual([412]);
    expect(h.stack.app.get("mentor", mentorId(0))?.data?.firstName).toBe("FromApp");
    expect(contactOf(h, contact(0))).toMatchObject({ firstname: "FromApp" });
  }, 60_000);

  it("meets an app record deleted since with 404, reads both sides and follows the delete policy instead of skipping", async () => {
    const { h, contactOf: contact } = await linkedMentors(1);
    expect(h.stack.app.remove("mentor", mentorId(0))).toBe(true);
    const events = [editInDataverse(h, contact(0), { firstname: "TooLate" })];
    const since = h.stack.app.requests.length;

    const result = await h.services.engine.handleRecordEvents(events);
    await work(h);

    expect(result.failed).toEqual([]);
    expect(mentorRequests(h, since, "PATCH").map((r) => r.status)).toEqual([404]);
    expect(mentorRequests(h, since, "GET")).toHaveLength(1);
    // mentors: `deletes: deactivate` — the contact is deactivated, the app record is not brought back.
    expect(contactOf(h, contact(0))).toMatchObject({ statecode: 1 });
    expect(h.stack.app.get("mentor", mentorId(0))?.deleted).toBe(true);
  }, 60_000);
});
