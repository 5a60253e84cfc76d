import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { contactsByMentorId, duplicatesOf, mentorData } from "./faultFixtures.js";

const contactOf = (h: SyncHarness, mentorId: string) => h.stack.dataverse.rows("contact").find((c) => c.hlf_mentorid === mentorId);
const groupRowOf = (h: SyncHarness, code: string) => h.stack.dataverse.rows("hlf_mentorgroup").find((g) => g.hlf_groupcode === code);

describe("lookups between mappings", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("writes a new group before the mentor that refers to it and binds the contact to the group's row", async () => {
    // Prepare: a group and its first mentor, both new in the app.
    h = await startSyncHarness();
    h.stack.app.put("group", "g-east", { name: "East", region: "Viken" });
    const mentor = mentorData(1, { groupId: "g-east" });
    h.stack.app.put("mentor", mentor.id, mentor.data);

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("succeeded");
    const group = groupRowOf(h, "g-east");
    expect(group).toBeDefined();
    expect(contactOf(h, mentor.id)!._hlf_groupid_value).toBe(group!.hlf_mentorgroupid);
    // Parents first: the group's create reached Dataverse before the contacts' create.
    const writes = h.stack.dataverse.log.entries().filter((e) => e.method === "POST" && e.status < 300).map((e) => e.path);
    const groupCreate = writes.findIndex((p) => p.includes("hlf_mentorgroups"));
    const contactCreate = writes.findIndex((p) => p.includes("contacts/Microsoft.Dynamics.CRM.CreateMultiple"));
    expect(groupCreate).toBeGreaterThanOrEqual(0);
    expect(groupCreate).toBeLessThan(contactCreate);
    // The contact body bound the lookup through its navigation property.
    const body = h.stack.dataverse.log.entries()[h.stack.dataverse.log.entries().findIndex((e) => e.path.includes("contacts/Microsoft.Dynamics.CRM.CreateMultiple"))].body;
    const target = (JSON.parse(body) as { Targets: Record<string, unknown>[] }).Targets.find((t) => t.hlf_mentorid === mentor.id)!;
    expect(target["hlf_GroupId@odata.bind"]).toBe(`/hlf_mentorgroups(${group!.hlf_mentorgroupid})`);
  });

  it("maps a contact's group lookup back to the group's app id", async () => {
    // Prepare: after a first sync, someone in Dataverse moves m-0001 from North to South.
    h = await startSyncHarness();
    await h.cycle();
    const south = groupRowOf(h, "g-south")!;
    h.stack.dataverse.ctx.ops.update("contact", String(contactOf(h, "m-0001")!.contactid),
      { "hlf_GroupId@odata.bind": `/hlf_mentorgroups(${south.hlf_mentorgroupid})` }, "5a0e0f2c-6a39-4c3e-8d4b-000000000002");

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("succeeded");
    expect(h.stack.app.get("mentor", "m-0001")!.data!.groupId).toBe("g-south");
    expect(summary.mappings.find((m) => m.name === "mentors")!.toApp.updated).toBe(1);
  });

  it("dead-letters a mentor whose group cannot be resolved and syncs the others", async () => {
    // Prepare: one mentor refers to a group that exists nowhere; another is fine.
    h = await startSyncHarness();
    const orphan = mentorData(1, { groupId: "g-nowhere" });
    const fine = mentorData(2, { groupId: "g-north" });
    h.stack.app.put("mentor", orphan.id, orphan.data);
    h.stack.app.put("mentor", fine.id, fine.data);

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("completed_with_failures");
    expect(summary.failures).toEqual([expect.objectContaining({ mapping: "mentors", direction: "toDataverse", id: orphan.id, code: "UNRESOLVED_LOOKUP" })]);
    expect(summary.failures[0].message).toContain("g-nowhere");
    const dl = await h.services.state.getDeadLetter(`mentors|toDataverse|${orphan.id}`);
    expect(dl).toMatchObject({ code: "UNRESOLVED_LOOKUP" });
    // Nothing null or guessed was written for the orphan; the other record landed.
    expect(contactOf(h, orphan.id)).toBeUndefined();
    expect(contactOf(h, fine.id)!._hlf_groupid_value).toBe(groupRowOf(h, "g-north")!.hlf_mentorgroupid);
    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
  });
});
