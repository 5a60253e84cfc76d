import { afterEach, describe, expect, it } from "vitest";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { restartedServices } from "./faultFixtures.js";
import { OTHER_USER, contactByMentorId, mark, oneMappingConfig, writesSince } from "./syncFixtures.js";

/**
 * The Kentico case: contacts pushed from the app, which stores the Dynamics id and the times
 * Dataverse keeps. `manual` parks any conflict, so a run that took these values for a change made
 * on both sides would show one.
 */
const config = oneMappingConfig({
  name: "people", entity: "person", entitySet: "contacts", table: "contact", key: "hlf_mentorid", strategy: "manual",
  fields: [
    { app: "firstName", dataverse: "firstname", type: "string", direction: "to-dataverse" },
    { app: "dynamicsId", dataverse: "contactid", type: "string", direction: "to-app" },
    { app: "createdOn", dataverse: "createdon", type: "datetime", direction: "to-app" },
    { app: "lastSyncedAt", dataverse: "modifiedon", type: "datetime", direction: "to-app" },
  ],
});

/** Dataverse's datetimes as the sync writes them to the app: UTC, whole seconds. */
const seconds = (iso: unknown) => new Date(String(iso)).toISOString().replace(/\.\d{3}Z$/, "Z");

/** What the app should hold of the values Dataverse filled in for this person's contact. */
function filledIn(h: SyncHarness, personId: string): Record<string, unknown> {
  const row = contactByMentorId(h, personId)!;
  return { dynamicsId: row.contactid, createdOn: seconds(row.createdon), lastSyncedAt: seconds(row.modifiedon) };
}

const people = (summary: Awaited<ReturnType<SyncHarness["cycle"]>>) => summary.mappings.find((m) => m.name === "people")!;

describe("values Dataverse fills in, mapped to-app", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("reach the app in the run that created the row, counted as no change on either side", async () => {
    h = await startSyncHarness({ config, seed: false });
    h.stack.app.put("person", "p-1", { firstName: "Ann" });

    const first = await h.cycle();

    expect(first.status).toBe("succeeded");
    expect(people(first).toDataverse.created).toBe(1);
    expect(people(first).toApp).toMatchObject({ created: 0, updated: 0, failed: 0 });
    expect(h.stack.app.get("person", "p-1")?.data).toEqual({ firstName: "Ann", ...filledIn(h, "p-1") });
    // The row's echo and the app's echo of those values are skips: nothing written, no conflict.
    const at = mark(h);
    const next = await h.cycle();
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
    expect(people(next)).toMatchObject({ conflicts: 0, toApp: { updated: 0 }, toDataverse: { updated: 0 } });
  });

  it("reach the app in a to-dataverse mapping too (the Kentico case: contacts go one way, their Dynamics id comes back)", async () => {
    const oneWay = { ...config, mappings: config.mappings.map((m) => ({ ...m, direction: "to-dataverse" as const })) };
    h = await startSyncHarness({ config: oneWay, seed: false });
    h.stack.app.put("person", "p-9", { firstName: "Kim" });
    // A contact made in Dynamics stays there: the mapping does not bring it to the app.
    h.stack.dataverse.insert("contact", { firstname: "Dana" }, OTHER_USER);

    const first = await h.cycle();

    expect(first.status).toBe("succeeded");
    expect(h.stack.app.get("person", "p-9")?.data).toEqual({ firstName: "Kim", ...filledIn(h, "p-9") });
    expect(h.stack.app.list("person").map((r) => r.id)).toEqual(["p-9"]);
    const at = mark(h);
    await h.cycle();
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });

  it("follow an update of the row (its new modifiedon) without sending anything back", async () => {
    // Dataverse's own clock, moved between the writes so that modifiedon moves.
    let dataverseNow = Date.parse("2026-03-01T12:00:00Z");
    h = await startSyncHarness({ config, seed: false, dataverse: { now: () => dataverseNow } });
    h.stack.app.put("person", "p-2", { firstName: "Bo" });
    await h.cycle();
    const before = filledIn(h, "p-2");
    dataverseNow += 60_000;
    h.stack.app.put("person", "p-2", { ...h.stack.app.get("person", "p-2")!.data, firstName: "Bob" });

    const summary = await h.cycle();

    expect(people(summary).toDataverse.updated).toBe(1);
    const after = filledIn(h, "p-2");
    expect(after.lastSyncedAt).not.toBe(before.lastSyncedAt);
    expect(h.stack.app.get("person", "p-2")?.data).toEqual({ firstName: "Bob", ...after });
    const at = mark(h);
    await h.cycle();
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });

  it("follow the key written back to a row that began in Dataverse, without sending anything back", async () => {
    let dataverseNow = Date.parse("2026-03-01T12:00:00Z");
    h = await startSyncHarness({ config, seed: false, dataverse: { now: () => dataverseNow } });
    const id = h.stack.dataverse.insert("contact", { firstname: "Di" }, OTHER_USER);
    dataverseNow += 60_000; // the app id is written back a minute later: modifiedon moves

    const first = await h.cycle();

    expect(people(first).toApp.created).toBe(1);
    const row = h.stack.dataverse.row("contact", id)!;
    const [record] = h.stack.app.list("person");
    expect(row.hlf_mentorid).toBe(record.id);
    expect(record.data).toEqual({ dynamicsId: id, createdOn: seconds(row.createdon), lastSyncedAt: seconds(row.modifiedon) });
    expect(seconds(row.modifiedon)).not.toBe(seconds(row.createdon));
    const at = mark(h);
    await h.cycle();
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });

  it("still reach the app when the process dies between the Dataverse create and the app update", async () => {
    h = await startSyncHarness({ config, seed: false });
    h.stack.app.put("person", "p-3", { firstName: "Cy" });
    // The process dies as it sends the values to the app: the row and its link are stored, the app
    // record is not updated, and whatever else the process held is gone.
    const app = h.services.engine.deps.app;
    const update = app.update.bind(app);
    app.update = async () => { throw new Error("process killed"); };
    await h.cycle();
    app.update = update;
    expect(contactByMentorId(h, "p-3")).toBeDefined();
    expect(h.stack.app.get("person", "p-3")?.data).toEqual({ firstName: "Cy" });

    // A new process runs an ordinary cycle on the same state.
    const { summary } = await runCycle(restartedServices(h.services), { full: false, dryRun: false });

    expect(summary.status).toBe("succeeded");
    expect(h.stack.app.get("person", "p-3")?.data).toEqual({ firstName: "Cy", ...filledIn(h, "p-3") });
    expect(people(summary)).toMatchObject({ conflicts: 0, toDataverse: { created: 0, updated: 0 } });
    const at = mark(h);
    await h.cycle();
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });
});
