import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import { exitCodeOf } from "../../../shared/runtime/summary.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { OTHER_USER, appPatches, contact, contactByMentorId, contactIdOf, dataverseUpdates, editDataverse, mark, writesSince } from "./syncFixtures.js";

describe("propagation of field changes", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("sends a Dataverse edit to the app and an app edit to Dataverse, each with only the changed fields", async () => {
    h = await startSyncHarness();
    await h.cycle();
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 88 });
    h.stack.app.patch("mentor", "m-0002", { firstName: "Olav" });
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    const mentors = summary.mappings.find((m) => m.name === "mentors")!;
    expect(mentors.toApp.updated).toBe(1);
    expect(mentors.toDataverse.updated).toBe(1);
    expect(appPatches(h, "mentor", at.app).get("m-0001")?.data).toEqual({ score: 88 });
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).get(contactIdOf(2))).toEqual({ firstname: "Olav" });
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(88);
    expect(contact(h, contactIdOf(2)).firstname).toBe("Olav");
  });

  it("sends an app change of a lookup as a bind to the linked parent row", async () => {
    h = await startSyncHarness();
    await h.cycle();
    const at = mark(h);
    h.stack.app.patch("mentor", "m-0001", { groupId: "g-south" });

    await h.cycle();

    const south = h.stack.dataverse.rows("hlf_mentorgroup").find((g) => g.hlf_groupcode === "g-south")!;
    const sent = dataverseUpdates(h, "contacts", "contactid", at.dv).get(contactIdOf(1));
    expect(Object.keys(sent ?? {})).toEqual(["hlf_GroupId@odata.bind"]);
    expect(contact(h, contactIdOf(1))._hlf_groupid_value).toBe(south.hlf_mentorgroupid);
  });

  it("does not send a field-level update back on the next run (no echo, without webhooks)", async () => {
    h = await startSyncHarness();
    await h.cycle();
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 88 });
    h.stack.app.patch("mentor", "m-0002", { firstName: "Olav" });
    await h.cycle();
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(summary.totals.written).toBe(0);
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });

  it("tells echoes by content: a row last written by the integration's own user is sent only where it differs from what was synced", async () => {
    h = await startSyncHarness();
    await h.cycle();
    const self = h.stack.dataverse.userIdFor(h.stack.env.DYNAMICS_CLIENT_ID);
    // Our own user rewrites the synced value (an echo) on one contact, and a different one on another
    // (what a person's edit just before our write, or a plug-in during it, leaves behind).
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 87 }, self);
    editDataverse(h, "contact", contactIdOf(2), { hlf_score: 5 }, self);
    const at = mark(h);

    await h.cycle();

    expect(appPatches(h, "mentor", at.app).size).toBe(1);
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(87);
    expect(h.stack.app.get("mentor", "m-0002")!.data!.score).toBe(5);
  });

  it("creates a record that began in Dataverse in the app and writes the app id back to the to-dataverse key column", async () => {
    h = await startSyncHarness();
    await h.cycle();
    const id = h.stack.dataverse.insert("contact", { firstname: "Nora", lastname: "Vik", emailaddress1: "nora.vik@example.org", hlf_certificationstatus: 100000002, hlf_score: 3, hlf_ispublic: false }, OTHER_USER);

    const summary = await h.cycle();

    expect(summary.mappings.find((m) => m.name === "mentors")!.toApp.created).toBe(1);
    const created = h.stack.app.list("mentor").find((r) => r.dataverseId === id);
    expect(created?.data).toMatchObject({ firstName: "Nora", lastName: "Vik", certificationStatus: "pending", score: 3 });
    expect(contact(h, id).hlf_mentorid).toBe(created!.id);
    expect((await h.services.state.getLinkByDataverse("mentors", id))?.appId).toBe(created!.id);
    const at = mark(h);
    expect((await h.cycle()).totals.written).toBe(0);
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });
});

describe("values that cannot be mapped", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("fails only the records with an unmappable value, writes nothing for them and lets the others through", async () => {
    h = await startSyncHarness();
    await h.cycle();
    const before = { m4: contactByMentorId(h, "m-0004")!, m5: contactByMentorId(h, "m-0005")! };
    const m4 = h.stack.app.get("mentor", "m-0004")!.data!;
    const m5 = h.stack.app.get("mentor", "m-0005")!.data!;
    h.stack.app.put("mentor", "m-0004", { ...m4, certificationStatus: "suspended", firstName: "Karianne" });
    h.stack.app.put("mentor", "m-0005", { ...m5, certifiedUntil: "31.12.2027", score: 1 });
    h.stack.app.patch("mentor", "m-0007", { score: 77 });
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("completed_with_failures");
    expect(exitCodeOf(summary)).toBe(2);
    expect(summary.totals.failed).toBe(2);
    const failures = summary.failures.map((f) => [f.mapping, f.direction, f.id, f.code]);
    expect(failures.sort()).toEqual([["mentors", "toDataverse", "m-0004", ErrorCodes.Unmappable], ["mentors", "toDataverse", "m-0005", ErrorCodes.Unmappable]]);
    expect(summary.failures.find((f) => f.id === "m-0004")!.message).toContain("suspended");
    expect(summary.failures.find((f) => f.id === "m-0005")!.message).toContain("31.12.2027");
    const sent = dataverseUpdates(h, "contacts", "contactid", at.dv);
    expect(sent.has(String(before.m4.contactid))).toBe(false);
    expect(sent.has(String(before.m5.contactid))).toBe(false);
    expect(contactByMentorId(h, "m-0004")).toMatchObject({ firstname: "Kari", hlf_certificationstatus: before.m4.hlf_certificationstatus });
    expect(contactByMentorId(h, "m-0005")).toMatchObject({ hlf_score: before.m5.hlf_score, hlf_certifieduntil: before.m5.hlf_certifieduntil });
    expect(contactByMentorId(h, "m-0007")!.hlf_score).toBe(77);
    const letters = await h.services.state.listDeadLetters({ mapping: "mentors" });
    expect(letters.map((d) => [d.recordId, d.code]).sort()).toEqual([["m-0004", ErrorCodes.Unmappable], ["m-0005", ErrorCodes.Unmappable]]);
  });

  it("syncs a dead-lettered record once its value is fixed and removes its dead letter", async () => {
    h = await startSyncHarness();
    await h.cycle();
    const m4 = h.stack.app.get("mentor", "m-0004")!.data!;
    h.stack.app.put("mentor", "m-0004", { ...m4, certificationStatus: "suspended", firstName: "Karianne" });
    await h.cycle();
    expect((await h.services.state.listDeadLetters({ mapping: "mentors" })).map((d) => d.recordId)).toEqual(["m-0004"]);

    h.stack.app.patch("mentor", "m-0004", { certificationStatus: "expired" });
    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(contactByMentorId(h, "m-0004")).toMatchObject({ firstname: "Karianne", hlf_certificationstatus: 100000001 });
    expect(await h.services.state.listDeadLetters({ mapping: "mentors" })).toEqual([]);
  });
});
