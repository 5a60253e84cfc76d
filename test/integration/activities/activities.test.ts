import { afterEach, describe, expect, it } from "vitest";
import { ActivityMapping } from "../../../shared/config/activityMapping.js";
import { activityIdOf } from "../../../shared/sync/activities.js";
import { Registry } from "../../../shared/sync/registry.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { activityMapping, addUsers, COLLEAGUE, configWith, contactRowIdOf, MARKETER, partiesOf, TEAM_ID } from "./activityFixtures.js";

let h: SyncHarness;
afterEach(async () => h?.stop());

const rowsOf = (table: string) => h.stack.dataverse.rows(table);

describe("activities reach their contact's timeline", () => {
  it("writes each of the four types with its parties, regarding contact and team owner, and closes calls and e-mails", async () => {
    // Prepare: the mentors are linked by a first run; then four activities of mentor m-0002.
    h = await startSyncHarness({ config: configWith(activityMapping()) });
    addUsers(h);
    expect((await h.cycle()).status).toBe("succeeded");
    const contact = contactRowIdOf(h, "m-0002")!;
    h.stack.app.put("activity", "a-call", { type: "phonecall", mentorId: "m-0002", subject: "Follow-up call", phoneNumber: "+47 400 00 000", loggedBy: MARKETER.email });
    h.stack.app.put("activity", "a-mail", { type: "email", mentorId: "m-0002", subject: "Welcome", body: "<p>hi</p>", loggedBy: MARKETER.email });
    h.stack.app.put("activity", "a-task", { type: "task", mentorId: "m-0002", subject: "Send certificate", due: "2026-12-24T09:00:00Z" });
    h.stack.app.put("activity", "a-meet", { type: "appointment", mentorId: "m-0002", subject: "Mentor meeting", location: "Oslo", attendees: [MARKETER.email, COLLEAGUE.email] });

    const since = h.stack.dataverse.log.entries().length;

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("succeeded");
    // The three addresses of the four activities are looked up in one query (cached for the run).
    expect(h.stack.dataverse.log.entries().slice(since).filter((e) => e.path.includes("/systemusers?"))).toHaveLength(1);
    const call = rowsOf("phonecall").find((r) => r.subject === "Follow-up call")!;
    expect(call).toMatchObject({ phonenumber: "+47 400 00 000", _regardingobjectid_value: contact, _ownerid_value: TEAM_ID, statecode: 1, statuscode: 2 });
    expect(partiesOf(h, call.activityid as string)).toEqual(expect.arrayContaining([
      { mask: 1, party: MARKETER.id, address: MARKETER.email }, { mask: 2, party: contact, address: null },
    ]));
    const mail = rowsOf("email").find((r) => r.subject === "Welcome")!;
    expect(mail).toMatchObject({ description: "<p>hi</p>", _regardingobjectid_value: contact, statecode: 1, statuscode: 3 });
    expect(partiesOf(h, mail.activityid as string)).toHaveLength(2);
    const task = rowsOf("task").find((r) => r.subject === "Send certificate")!;
    expect(task).toMatchObject({ _regardingobjectid_value: contact, _ownerid_value: TEAM_ID, statecode: 0 });
    const meeting = rowsOf("appointment").find((r) => r.subject === "Mentor meeting")!;
    expect(meeting).toMatchObject({ location: "Oslo", _regardingobjectid_value: contact, statecode: 0 });
    expect(partiesOf(h, meeting.activityid as string).map((p) => p.party).sort()).toEqual([MARKETER.id, COLLEAGUE.id, contact].sort());
    // Bulk messages where documented (task); the others fall back to $batch when CreateMultiple is refused.
    const log = h.stack.dataverse.log.entries();
    const answer = (table: string) => log.find((e) => e.path.includes(`/${table}/Microsoft.Dynamics.CRM.CreateMultiple`))?.status;
    expect([answer("tasks"), answer("phonecalls")]).toEqual([200, 400]);
    expect(log.some((e) => e.inBatch && e.method === "POST" && e.path.endsWith("/phonecalls") && e.status === 204)).toBe(true);
  });

  it("assigns activities to a user owner, and sends each app activity once however often it is run", async () => {
    h = await startSyncHarness({ config: configWith(activityMapping({ owner: { systemuser: MARKETER.id } })) });
    addUsers(h);
    h.stack.app.put("activity", "a-1", { type: "task", mentorId: "m-0001", subject: "Call back" });

    await h.cycle();
    await h.cycle({ full: true });

    const tasks = rowsOf("task").filter((r) => r.subject === "Call back");
    expect(tasks).toHaveLength(1);
    expect(tasks[0]._ownerid_value).toBe(MARKETER.id);
  });

  it("keeps an unresolved e-mail sender as an address, and drops an unresolved caller with a note", async () => {
    h = await startSyncHarness({ config: configWith(activityMapping()) });
    h.stack.app.put("activity", "a-mail", { type: "email", mentorId: "m-0003", subject: "From outside", loggedBy: "nobody@elsewhere.example" });
    h.stack.app.put("activity", "a-call", { type: "phonecall", mentorId: "m-0003", subject: "Unknown caller", loggedBy: "nobody@elsewhere.example" });

    const summary = await h.cycle();

    expect(summary, JSON.stringify(summary)).toMatchObject({ status: "succeeded" });
    const contact = contactRowIdOf(h, "m-0003");
    const mail = rowsOf("email").find((r) => r.subject === "From outside")!;
    expect(partiesOf(h, mail.activityid as string)).toEqual(expect.arrayContaining([{ mask: 1, party: null, address: "nobody@elsewhere.example" }, { mask: 2, party: contact, address: null }]));
    const call = rowsOf("phonecall").find((r) => r.subject === "Unknown caller")!;
    expect(partiesOf(h, call.activityid as string)).toEqual([{ mask: 2, party: contact, address: null }]);
    expect(summary.mappings.find((m) => m.name === "activities")!.notes.join(" ")).toMatch(/no Dataverse user has the address given for the from party/);
  });

  it("writes a custom activity type through a record mapper registered in code", async () => {
    const registry = new Registry().registerRecordMapper("pageVisit", {
      toDataverse: (data, body) => ({ ...body, subject: `Visited ${String(data.path)}`, new_url: `https://contoso.example${String(data.path)}` }),
    });
    const pagevisit = { entitySet: "new_pagevisits", table: "new_pagevisit", mapper: "pageVisit", fields: [] };
    const types = { ...(activityMapping().types as Record<string, unknown>), pagevisit };
    h = await startSyncHarness({ registry, config: configWith(activityMapping({ types } as unknown as Partial<ActivityMapping>)) });
    h.stack.app.put("activity", "a-visit", { type: "pagevisit", mentorId: "m-0001", path: "/pricing" });

    expect((await h.cycle()).status).toBe("succeeded");

    expect(rowsOf("new_pagevisit")).toEqual([expect.objectContaining({ subject: "Visited /pricing", new_url: "https://contoso.example/pricing", _regardingobjectid_value: contactRowIdOf(h, "m-0001") })]);
  });

  it("holds an activity whose contact is not linked yet, and sends it once the contact syncs", async () => {
    h = await startSyncHarness({ config: configWith(activityMapping()) });
    // The contact does not exist yet: the activity waits as pending.
    h.stack.app.put("activity", "a-early", { type: "task", mentorId: "m-new", subject: "Early bird" });
    const first = await h.cycle();
    expect(rowsOf("task")).toHaveLength(0);
    expect((await h.services.state.listDeadLetters({ mapping: "activities" })).map((d) => [d.recordId, d.code])).toEqual([["a-early", "UNRESOLVED_LOOKUP"]]);
    expect(first.mappings.find((m) => m.name === "activities")!.toDataverse.failed).toBe(0);

    // The contact arrives, together with a second new activity: both activities go out in this run.
    h.stack.app.put("mentor", "m-new", { firstName: "Nora", lastName: "Ny", certificationStatus: "active", isPublic: true, active: true });
    h.stack.app.put("activity", "a-same-run", { type: "task", mentorId: "m-new", subject: "Same run" });
    await h.cycle();

    const contact = contactRowIdOf(h, "m-new");
    expect(rowsOf("task").map((t) => [t.subject, t._regardingobjectid_value]).sort()).toEqual([["Early bird", contact], ["Same run", contact]]);
    expect(await h.services.state.listDeadLetters({ mapping: "activities" })).toEqual([]);
  });

  it("closes an activity whose create landed before a crash, without creating it again", async () => {
    h = await startSyncHarness({ config: configWith(activityMapping()) });
    addUsers(h);
    await h.cycle();
    const contact = contactRowIdOf(h, "m-0002")!;
    h.stack.app.put("activity", "a-crash", { type: "phonecall", mentorId: "m-0002", subject: "Crashed call", loggedBy: MARKETER.email });
    // The state a crash between the two steps leaves: the call exists (our id), open; the cursor did not move.
    const mapping = ActivityMapping.parse(activityMapping());
    const id = activityIdOf(mapping, mapping.types.phonecall, "a-crash");
    h.stack.dataverse.insert("phonecall", { activityid: id, subject: "Crashed call", "regardingobjectid_contact@odata.bind": `/contacts(${contact})` });

    expect((await h.cycle()).status).toBe("succeeded");

    const calls = rowsOf("phonecall").filter((r) => r.subject === "Crashed call");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ activityid: id, statecode: 1, statuscode: 2 });
  });
});
