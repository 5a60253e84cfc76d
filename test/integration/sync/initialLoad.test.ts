import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

describe("initial load and steady state", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("loads both directions on the first run and links records that match by key", async () => {
    h = await startSyncHarness();
    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    const mentors = summary.mappings.find((m) => m.name === "mentors")!;
    // The app's m-0004..m-0008 have no row in Dataverse; 2 contacts began in Dataverse.
    expect(mentors.toDataverse.created).toBe(5);
    expect(mentors.toApp.created).toBe(2);
    const contacts = h.stack.dataverse.rows("contact");
    expect(contacts).toHaveLength(10);
    expect(new Set(contacts.map((c) => c.hlf_mentorid))).toEqual(new Set(h.stack.app.list("mentor").map((m) => m.id)));
    // Records that began in Dataverse got the app's id written back to the key column.
    expect(contacts.every((c) => typeof c.hlf_mentorid === "string" && c.hlf_mentorid.startsWith("m-"))).toBe(true);
  });

  it("makes no write request on either side when run again at once", async () => {
    h = await startSyncHarness();
    await h.cycle();
    const dvBefore = h.stack.dataverse.log.entries().length;
    const appBefore = h.stack.app.requests.length;

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(summary.totals.written).toBe(0);
    const dvWrites = h.stack.dataverse.log.entries().slice(dvBefore).filter((e) => e.method !== "GET");
    const appWrites = h.stack.app.requests.slice(appBefore).filter((r) => r.method !== "GET");
    expect(dvWrites).toEqual([]);
    expect(appWrites).toEqual([]);
  });
});
