import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appPatches, contact, contactIdOf, dataverseUpdates, editDataverse, mark, writesSince } from "./syncFixtures.js";

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

  it("does not send to the app a Dataverse change made by the integration's own user", async () => {
    h = await startSyncHarness();
    await h.cycle();
    const self = h.stack.dataverse.userIdFor(h.stack.env.DYNAMICS_CLIENT_ID);
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 5 }, self);
    const at = mark(h);

    await h.cycle();

    expect(appPatches(h, "mentor", at.app).size).toBe(0);
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(87);
  });
});
