import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appMentorsByDataverseId, contactsByMentorId, duplicatesOf, mentorData } from "./faultFixtures.js";

/** A person editing Dataverse (demo schema), not the integration's own user. */
const OTHER_USER = "5a0e0f2c-6a39-4c3e-8d4b-000000000002";
const contactOf = (h: SyncHarness, mentorId: string) => h.stack.dataverse.rows("contact").find((c) => c.hlf_mentorid === mentorId)!;

describe("an expired Dataverse delta token", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("re-reads everything, reconciles by link without duplicates, and finds the deletes made in the gap", async () => {
    // Prepare: a first sync, then every issued delta token expires and both sides change.
    h = await startSyncHarness();
    expect((await h.cycle()).status).toBe("succeeded");
    const contactsBefore = h.stack.dataverse.rows("contact").length;
    const mentorsBefore = h.stack.app.list("mentor").length;
    h.stack.dataverse.expireDeltaTokens();
    const ops = h.stack.dataverse.ctx.ops;
    ops.update("contact", String(contactOf(h, "m-0001").contactid), { firstname: "Ingrid-Marie" }, OTHER_USER);
    const goneContact = String(contactOf(h, "m-0002").contactid);
    ops.delete("contact", goneContact, OTHER_USER);
    h.stack.app.patch("mentor", "m-0003", { score: 42 });
    h.stack.app.remove("mentor", "m-0004");
    const fresh = mentorData(1);
    h.stack.app.put("mentor", fresh.id, fresh.data);

    // Act
    const summary = await h.cycle();

    // Assess: the run says why it read everything.
    expect(summary.status).toBe("succeeded");
    const mentors = summary.mappings.find((m) => m.name === "mentors")!;
    expect(mentors.notes.join("\n")).toMatch(/delta token for contacts .* has expired; re-read all rows/);
    // Only the real changes were written: nothing re-created, nothing duplicated.
    expect(mentors.toDataverse).toMatchObject({ created: 1, updated: 1, deleted: 1, failed: 0 });
    expect(mentors.toApp).toMatchObject({ created: 0, updated: 1, deleted: 1, failed: 0 });
    expect(h.stack.dataverse.rows("contact")).toHaveLength(contactsBefore); // +1 created, -1 deleted in the gap
    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
    expect(duplicatesOf(appMentorsByDataverseId(h))).toEqual([]);
    expect(h.stack.app.list("mentor")).toHaveLength(mentorsBefore); // +1 new, -1 removed
    // Each change arrived on the other side.
    expect(h.stack.app.get("mentor", "m-0001")!.data!.firstName).toBe("Ingrid-Marie");
    expect(contactOf(h, "m-0003").hlf_score).toBe(42);
    expect(contactOf(h, fresh.id)).toBeDefined();
    // The delete in the gap never reached a delta feed: only the full read could show it ("deactivate" policy).
    expect(h.stack.app.get("mentor", "m-0002")!.data!.active).toBe(false);
    expect(contactOf(h, "m-0004").statecode).toBe(1);
    // The new delta token works: a third run reads a delta again and writes nothing.


    const third = await h.cycle();

    expect(third.totals.written).toBe(0);
    expect(third.mappings.flatMap((m) => m.notes).join("\n")).not.toMatch(/expired/);
    // Neither does a full re-read: the deactivated record is not deactivated again nor brought back.
    const full = await h.cycle({ full: true });
    expect(full.totals.written).toBe(0);
    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
  });
});
