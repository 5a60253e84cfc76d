import { afterEach, describe, expect, it } from "vitest";
import { runStatusApi } from "../../../shared/api/syncApi.js";
import { TelemetryEvents } from "../../../shared/names.js";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { ADMIN_KEY, adminRequest } from "../../unit/api/adminFixtures.js";
import { contact, contactIdOf, editDataverse, mark, writesSince } from "./syncFixtures.js";

const mapping = (summary: RunSummary, name: string) => summary.mappings.find((m) => m.name === name)!;

describe("reconciliation: what the change feeds never showed", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  /**
   * After a first sync: a Dataverse edit during a change-tracking outage (no delta reports it), and
   * an app record changed behind the app's back (no feed entry). A delta run sees neither.
   */
  async function hiddenChanges(): Promise<void> {
    h = await startSyncHarness();
    expect((await h.cycle()).status).toBe("succeeded");
    h.stack.dataverse.changeTrackingOutage(true);
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 88 });
    h.stack.dataverse.changeTrackingOutage(false);
    expect(h.stack.app.patchOutsideFeed("mentor", "m-0002", { email: "olav.hidden@example.org" })).toBe(true);
  }

  it("a delta run does not see them; a reconcile run reports 2 diverged records with their fields and repairs both", async () => {
    await hiddenChanges();
    const beforeDelta = mark(h);
    const delta = await h.cycle();
    expect(delta.status).toBe("succeeded");
    expect(writesSince(h, beforeDelta)).toEqual({ dataverse: [], app: [] });
    expect(mapping(delta, "mentors").divergence).toBeUndefined();
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).not.toBe(88);

    const summary = await h.cycle({ reconcile: true });

    expect(summary.status).toBe("succeeded");
    expect(mapping(summary, "mentors").divergence).toEqual({ records: 2, fields: { score: 1, email: 1 } });
    expect(mapping(summary, "groups").divergence).toEqual({ records: 0, fields: {} });
    expect(mapping(summary, "mentors").toApp.updated).toBe(1);
    expect(mapping(summary, "mentors").toDataverse.updated).toBe(1);
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(88);
    expect(contact(h, contactIdOf(2)).emailaddress1).toBe("olav.hidden@example.org");
  });

  it("stores the divergence in the run record (GET /api/sync/runs/{id}) and sends a telemetry event", async () => {
    await hiddenChanges();

    const summary = await h.cycle({ reconcile: true, mapping: "mentors" });

    const runId = mapping(summary, "mentors").runId;
    const stored = await h.services.state.getRun(runId);
    expect(stored).toMatchObject({ mode: "reconcile", status: "succeeded", divergence: { records: 2, fields: { score: 1, email: 1 } } });
    const services = { ...h.services, settings: { ...h.services.settings, adminApiKey: ADMIN_KEY } };
    const res = await runStatusApi(adminRequest("GET", `sync/runs/${runId}`, { params: { runId } }), services);
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ runId, mode: "reconcile", divergence: { records: 2, fields: { score: 1, email: 1 } } });
    const events = h.telemetry.events.filter((e) => e.name === TelemetryEvents.divergence);
    expect(events).toEqual([{ name: TelemetryEvents.divergence, properties: { mapping: "mentors", runId, records: 2, fields: JSON.stringify({ score: 1, email: 1 }) } }]);
  });

  it("a second reconcile run reports 0 and writes nothing", async () => {
    await hiddenChanges();
    await h.cycle({ reconcile: true });
    const at = mark(h);

    const again = await h.cycle({ reconcile: true });

    expect(again.status).toBe("succeeded");
    expect(mapping(again, "mentors").divergence).toEqual({ records: 0, fields: {} });
    expect(mapping(again, "groups").divergence).toEqual({ records: 0, fields: {} });
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });

  it("a reconcile dry run reports the divergence and repairs nothing", async () => {
    await hiddenChanges();
    const at = mark(h);

    const dry = await h.cycle({ reconcile: true, dryRun: true });

    expect(mapping(dry, "mentors").divergence).toEqual({ records: 2, fields: { score: 1, email: 1 } });
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
    expect(h.telemetry.events.filter((e) => e.name === TelemetryEvents.divergence)).toEqual([]);
  });

  it("counts a record created in Dataverse during the outage (present on one side only) and creates it in the app", async () => {
    h = await startSyncHarness();
    await h.cycle();
    h.stack.dataverse.changeTrackingOutage(true);
    const id = h.stack.dataverse.insert("contact", {
      firstname: "Hidden", lastname: "Row", emailaddress1: "hidden@example.org", hlf_certificationstatus: 100000000, hlf_certifieduntil: "2027-03-15",
      hlf_score: 5, hlf_ispublic: true, hlf_hourlyrate: 300, "hlf_GroupId@odata.bind": "/hlf_mentorgroups(hlf_groupcode='g-north')",
    });
    h.stack.dataverse.changeTrackingOutage(false);
    expect(mapping(await h.cycle(), "mentors").toApp.created).toBe(0);

    const summary = await h.cycle({ reconcile: true, mapping: "mentors" });

    expect(mapping(summary, "mentors").divergence).toEqual({ records: 1, fields: {} });
    expect(mapping(summary, "mentors").toApp.created).toBe(1);
    expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === id)).toHaveLength(1);
  });

  it("reads again only what diverged: records in step with their links are neither re-read nor written", async () => {
    h = await startSyncHarness();
    for (let n = 0; n < 40; n++) h.stack.app.put("mentor", `m-${2000 + n}`, { firstName: `F${n}`, lastName: `L${n}`, email: `r${n}@example.org`, certificationStatus: "active", certifiedUntil: null, score: n, hourlyRate: 300, isPublic: true, groupId: null, lastContactAt: null, active: true });
    await h.cycle();
    await h.cycle();
    h.stack.dataverse.changeTrackingOutage(true);
    editDataverse(h, "contact", contactIdOf(3), { hlf_score: 7 });
    h.stack.dataverse.changeTrackingOutage(false);
    h.stack.app.remove("mentor", "m-2005");
    const at = mark(h);

    const summary = await h.cycle({ reconcile: true, mapping: "mentors" });

    expect(mapping(summary, "mentors").divergence).toEqual({ records: 2, fields: { score: 1 } });
    // Two complete reads, then the two suspects' rows in one request; no app record is read one by one.
    const dvReads = h.stack.dataverse.log.entries().slice(at.dv).filter((e) => e.method === "GET" && e.path.includes("contacts"));
    const byId = dvReads.filter((e) => decodeURIComponent(e.path).includes("$filter="));
    expect(byId).toHaveLength(1);
    expect(h.stack.app.requests.slice(at.app).filter((r) => r.method === "GET" && /^\/sync\/mentor\/[^/?]+$/.test(r.path))).toEqual([]);
    expect(h.stack.app.get("mentor", "m-0003")!.data!.score).toBe(7);
    // mentors deactivate: the row of the record deleted in the app is deactivated.
    expect(h.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === "m-2005")!.statecode).toBe(1);
  });
});
