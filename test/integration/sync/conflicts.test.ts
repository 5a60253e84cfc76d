import { afterEach, describe, expect, it } from "vitest";
import type { Strategy } from "../../../shared/sync/merge.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appPatches, configWithMentors, contact, contactIdOf, dataverseUpdates, editDataverse, mark } from "./syncFixtures.js";

/** The emulator's clock runs `offsetMs` from real time, so a Dataverse edit can be made older or newer than an app edit. */
function shiftedClock() {
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  return clock;
}

async function harnessWith(strategy: Strategy, clock = shiftedClock()): Promise<SyncHarness> {
  return startSyncHarness({ config: configWithMentors((m) => { m.conflict = { strategy }; }), dataverse: { now: clock.now } });
}

/** Both sides change m-0001's score; Dataverse's edit is `dvAgeMs` older than the app's (negative: newer). */
function editScoreOnBothSides(h: SyncHarness, clock: { offsetMs: number }, dvAgeMs: number): void {
  clock.offsetMs = -dvAgeMs;
  editDataverse(h, "contact", contactIdOf(1), { hlf_score: 11 });
  clock.offsetMs = 0;
  h.stack.app.patch("mentor", "m-0001", { score: 22 });
}

const mentorsOf = (s: Awaited<ReturnType<SyncHarness["cycle"]>>) => s.mappings.find((m) => m.name === "mentors")!;

describe("conflict strategies", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("newest-wins takes each one-sided change and gives a both-sided field to the later record (the app)", async () => {
    const clock = shiftedClock();
    h = await harnessWith("newest-wins", clock);
    await h.cycle();
    editDataverse(h, "contact", contactIdOf(1), { firstname: "Inga" });
    h.stack.app.patch("mentor", "m-0001", { lastName: "Berge" });
    editScoreOnBothSides(h, clock, 120_000);
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.totals.conflicts).toBe(1);
    expect(mentorsOf(summary).conflicts).toBe(1);
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).get(contactIdOf(1))).toEqual({ lastname: "Berge", hlf_score: 22 });
    expect(appPatches(h, "mentor", at.app).get("m-0001")?.data).toEqual({ firstName: "Inga" });
    expect(h.stack.app.get("mentor", "m-0001")!.data).toMatchObject({ firstName: "Inga", lastName: "Berge", score: 22 });
    expect(contact(h, contactIdOf(1))).toMatchObject({ firstname: "Inga", lastname: "Berge", hlf_score: 22 });
  });

  it("newest-wins gives a both-sided field to Dataverse when its row changed later", async () => {
    const clock = shiftedClock();
    h = await harnessWith("newest-wins", clock);
    await h.cycle();
    editScoreOnBothSides(h, clock, -120_000);
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.totals.conflicts).toBe(1);
    expect(appPatches(h, "mentor", at.app).get("m-0001")?.data).toEqual({ score: 11 });
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).has(contactIdOf(1))).toBe(false);
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(11);
  });

  it("dataverse-wins keeps Dataverse's value even when the app changed later", async () => {
    const clock = shiftedClock();
    h = await harnessWith("dataverse-wins", clock);
    await h.cycle();
    editScoreOnBothSides(h, clock, 120_000);
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.totals.conflicts).toBe(1);
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(11);
    expect(contact(h, contactIdOf(1)).hlf_score).toBe(11);
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).has(contactIdOf(1))).toBe(false);
  });

  it("app-wins keeps the app's value even when Dataverse changed later", async () => {
    const clock = shiftedClock();
    h = await harnessWith("app-wins", clock);
    await h.cycle();
    editScoreOnBothSides(h, clock, -120_000);
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.totals.conflicts).toBe(1);
    expect(contact(h, contactIdOf(1)).hlf_score).toBe(22);
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(22);
    expect(appPatches(h, "mentor", at.app).has("m-0001")).toBe(false);
  });

  it("manual writes neither side and records the conflict for review", async () => {
    const clock = shiftedClock();
    h = await harnessWith("manual", clock);
    await h.cycle();
    editScoreOnBothSides(h, clock, 120_000);
    h.stack.app.patch("mentor", "m-0001", { lastName: "Berge" });
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(summary.totals.conflicts).toBe(1);
    expect(appPatches(h, "mentor", at.app).has("m-0001")).toBe(false);
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).has(contactIdOf(1))).toBe(false);
    expect(contact(h, contactIdOf(1))).toMatchObject({ hlf_score: 11, lastname: "Berg" });
    const conflicts = await h.services.state.listConflicts({ mapping: "mentors", status: "open" });
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ appId: "m-0001", dataverseId: contactIdOf(1), fields: [{ field: "score", app: 22, dataverse: 11, base: 87 }] });
  });
});

describe("matching on first sync", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("links records with the same key and equal values without writing to them", async () => {
    h = await startSyncHarness();
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.totals.conflicts).toBe(0);
    const updated = dataverseUpdates(h, "contacts", "contactid", at.dv);
    const patched = appPatches(h, "mentor", at.app);
    for (const n of [1, 2, 3] as const) {
      expect(updated.has(contactIdOf(n))).toBe(false);
      expect(patched.has(`m-000${n}`)).toBe(false);
      expect((await h.services.state.getLinkByApp("mentors", `m-000${n}`))?.dataverseId).toBe(contactIdOf(n));
    }
    expect(h.stack.dataverse.rows("contact").filter((c) => c.hlf_mentorid === "m-0001")).toHaveLength(1);
  });

  it("resolves differing values of a key match as a conflict by the strategy", async () => {
    h = await harnessWith("app-wins");
    editDataverse(h, "contact", contactIdOf(2), { hlf_score: 1, firstname: "Olaf" });
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.totals.conflicts).toBe(1);
    expect(dataverseUpdates(h, "contacts", "contactid", at.dv).get(contactIdOf(2))).toEqual({ firstname: "Ole", hlf_score: 64 });
    expect(appPatches(h, "mentor", at.app).has("m-0002")).toBe(false);
    expect((await h.services.state.getLinkByApp("mentors", "m-0002"))?.dataverseId).toBe(contactIdOf(2));
  });
});
