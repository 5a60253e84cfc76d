import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { OTHER_USER, appPatches, configWithMentors, contact, contactByMentorId, contactIdOf, dataverseUpdates, mark, writesSince } from "./syncFixtures.js";

async function harnessWith(deletes: "propagate" | "deactivate" | "ignore", options?: Record<string, unknown>): Promise<SyncHarness> {
  const h = await startSyncHarness({ config: configWithMentors((m) => { m.deletes = deletes; }, options) });
  await h.cycle();
  return h;
}

const deleteInDataverse = (h: SyncHarness, id: string) => h.stack.dataverse.ctx.ops.delete("contact", id, OTHER_USER);
const appDeletes = (h: SyncHarness, since: number) => h.stack.app.requests.slice(since).filter((r) => r.method === "DELETE").map((r) => r.path);
const dataverseDeletes = (h: SyncHarness, since: number) => h.stack.dataverse.log.entries().slice(since).filter((e) => e.method === "DELETE" && e.status < 400).map((e) => e.path);
const mentorsOf = (s: Awaited<ReturnType<SyncHarness["cycle"]>>) => s.mappings.find((m) => m.name === "mentors")!;

describe("deletes by policy", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("propagate deletes on the other side with HTTP DELETE, in both directions", async () => {
    h = await harnessWith("propagate");
    const m4 = String(contactByMentorId(h, "m-0004")!.contactid);
    h.stack.app.remove("mentor", "m-0004");
    deleteInDataverse(h, contactIdOf(1));
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(mentorsOf(summary).toDataverse.deleted).toBe(1);
    expect(mentorsOf(summary).toApp.deleted).toBe(1);
    expect(dataverseDeletes(h, at.dv)).toEqual([expect.stringContaining(`contacts(${m4})`)]);
    expect(h.stack.dataverse.row("contact", m4)).toBeUndefined();
    expect(appDeletes(h, at.app)).toEqual(["/sync/mentor/m-0001"]);
    expect(h.stack.app.get("mentor", "m-0001")?.deleted).toBe(true);
    expect(await h.services.state.getLinkByApp("mentors", "m-0001")).toBeNull();
    expect(await h.services.state.getLinkByApp("mentors", "m-0004")).toBeNull();
  });

  it("deactivate sets the Dataverse row inactive and the app's inactive field instead of deleting", async () => {
    h = await harnessWith("deactivate");
    const m4 = String(contactByMentorId(h, "m-0004")!.contactid);
    h.stack.app.remove("mentor", "m-0004");
    deleteInDataverse(h, contactIdOf(2));
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(dataverseDeletes(h, at.dv)).toEqual([]);
    expect(appDeletes(h, at.app)).toEqual([]);
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).get(m4)).toEqual({ statecode: 1 });
    expect(contact(h, m4)).toMatchObject({ statecode: 1, statuscode: 2 });
    expect(appPatches(h, "mentor", at.app).get("m-0002")?.data).toEqual({ active: false });
    expect(h.stack.app.get("mentor", "m-0002")).toMatchObject({ deleted: false, data: expect.objectContaining({ active: false }) });
  });

  it("does not bring a row it deactivated in Dataverse back into the app on the next run", async () => {
    h = await harnessWith("deactivate");
    const m4 = String(contactByMentorId(h, "m-0004")!.contactid);
    h.stack.app.remove("mentor", "m-0004");
    await h.cycle();
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.totals.written).toBe(0);
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
    expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === m4)).toEqual([]);
  });

  it("ignore only unlinks: nothing is deleted or changed on the other side", async () => {
    h = await harnessWith("ignore");
    const m4 = String(contactByMentorId(h, "m-0004")!.contactid);
    h.stack.app.remove("mentor", "m-0004");
    deleteInDataverse(h, contactIdOf(3));
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(dataverseDeletes(h, at.dv)).toEqual([]);
    expect(appDeletes(h, at.app)).toEqual([]);
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).has(m4)).toBe(false);
    expect(appPatches(h, "mentor", at.app).has("m-0003")).toBe(false);
    expect(contact(h, m4).statecode).toBe(0);
    expect(h.stack.app.get("mentor", "m-0003")?.deleted).toBe(false);
    expect(await h.services.state.getLinkByApp("mentors", "m-0004")).toBeNull();
    expect(await h.services.state.getLinkByApp("mentors", "m-0003")).toBeNull();
  });
});

describe("mass-delete breaker", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("holds back every delete of the run above the configured share and says why", async () => {
    // 10 linked mentors after the first run: 4 deletes are 40%, above the 30% limit.
    h = await harnessWith("propagate", { massDeleteShare: 0.3, massDeleteMinimum: 3 });
    for (const id of ["m-0004", "m-0005", "m-0006"]) h.stack.app.remove("mentor", id);
    deleteInDataverse(h, contactIdOf(1));
    const at = mark(h);

    const summary = await h.cycle();

    expect(dataverseDeletes(h, at.dv)).toEqual([]);
    expect(appDeletes(h, at.app)).toEqual([]);
    expect(h.stack.app.get("mentor", "m-0001")?.deleted).toBe(false);
    expect(contactByMentorId(h, "m-0004")).toBeDefined();
    const mentors = mentorsOf(summary);
    expect(mentors.toDataverse.deleted + mentors.toApp.deleted).toBe(0);
    expect(mentors.notes.join(" ")).toMatch(/mass-delete breaker: 4 of 10 linked records \(40%\)/);
    const blocked = summary.failures.filter((f) => f.code === ErrorCodes.MassDeleteBlocked);
    expect(blocked.map((f) => f.id).sort()).toEqual([contactIdOf(1), "m-0004", "m-0005", "m-0006"].sort());
    const letters = await h.services.state.listDeadLetters({ mapping: "mentors" });
    expect(letters.filter((d) => d.code === ErrorCodes.MassDeleteBlocked)).toHaveLength(4);
    expect(summary.status).toBe("completed_with_failures");
  });

  it("lets deletes through at or below the configured share", async () => {
    h = await harnessWith("propagate", { massDeleteShare: 0.3, massDeleteMinimum: 3 });
    for (const id of ["m-0004", "m-0005", "m-0006"]) h.stack.app.remove("mentor", id);
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(dataverseDeletes(h, at.dv)).toHaveLength(3);
    expect(mentorsOf(summary).toDataverse.deleted).toBe(3);
  });
});
