import { afterEach, describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import { MemoryExpiryIndex } from "../../../shared/state/memoryExpiryIndex.js";
import { createTableExpiryIndex } from "../../../shared/state/tableExpiryIndex.js";
import type { ExpiryEntry, ExpiryIndex } from "../../../shared/sync/expiryRules.js";
import { offsetClock } from "../../support/offsetClock.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appPatches, configWithMentors, contactByMentorId, dataverseUpdates, mark, writesSince } from "../sync/syncFixtures.js";

/** The demo mentors whose certification status becomes "expired" once certifiedUntil has passed. */
const expiringMentors = () => configWithMentors((m) => {
  const fields = m.fields as { app: string; expires?: unknown }[];
  fields.find((f) => f.app === "certificationStatus")!.expires = { when: "certifiedUntil", becomes: "expired" };
});

const EXPIRED = 100000001;
const ACTIVE = 100000000;

describe("expiry rules on the local stack: time passing changes a field on both sides", () => {
  let h: SyncHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it("a certification date that passes with no edit expires the status on both sides, and nothing else is written", async () => {
    const clock = offsetClock();
    clock.setDate("2026-12-06T06:00:00Z");
    h = await startSyncHarness({ config: expiringMentors(), clock });
    await h.cycle();
    await h.cycle();
    // Seeded records whose date had already passed (m-0005, m-0008) expired on the first runs.
    expect(h.stack.app.get("mentor", "m-0005")!.data!.certificationStatus).toBe("expired");
    expect(contactByMentorId(h, "m-0005")!.hlf_certificationstatus).toBe(EXPIRED);
    expect(h.stack.app.get("mentor", "m-0004")!.data!).toMatchObject({ certificationStatus: "active", certifiedUntil: "2027-03-31" });
    expect((await h.cycle()).totals.written).toBe(0);

    clock.setDate("2027-04-01T02:00:00Z");
    const at = mark(h);
    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    const contact4 = contactByMentorId(h, "m-0004")!;
    expect(h.stack.app.get("mentor", "m-0004")!.data!.certificationStatus).toBe("expired");
    expect(contact4.hlf_certificationstatus).toBe(EXPIRED);
    // The contact that began in Dataverse (certified until 2027-03-15) expired too; nothing else was written.
    const bornInDataverse = contactByMentorId(h, "m-0009")!;
    expect(bornInDataverse.hlf_certifieduntil).toBe("2027-03-15");
    expect(new Map(dataverseUpdates(h, "contacts", "contactid", at.dv))).toEqual(new Map([
      [contact4.contactid, { hlf_certificationstatus: EXPIRED }], [bornInDataverse.contactid, { hlf_certificationstatus: EXPIRED }],
    ]));
    expect(new Map([...appPatches(h, "mentor", at.app)].map(([id, p]) => [id, p.data]))).toEqual(new Map([
      ["m-0004", { certificationStatus: "expired" }], ["m-0009", { certificationStatus: "expired" }],
    ]));
    expect(writesSince(h, at).app.sort()).toEqual(["PATCH /sync/mentor/m-0004", "PATCH /sync/mentor/m-0009"]);
    // m-0001 (until 2027-06-30) has not expired.
    expect(h.stack.app.get("mentor", "m-0001")!.data!.certificationStatus).toBe("active");
    expect(contactByMentorId(h, "m-0001")!.hlf_certificationstatus).toBe(ACTIVE);

    const after = mark(h);
    expect((await h.cycle()).totals.written).toBe(0);
    expect(writesSince(h, after)).toEqual({ dataverse: [], app: [] });
  });

  it("the first run builds the index of older links before it reads and writes, so what it writes is indexed once", async () => {
    const clock = offsetClock();
    clock.setDate("2026-12-06T06:00:00Z");
    h = await startSyncHarness({ config: expiringMentors(), clock });
    const index = h.services.engine.deps.expiry!;
    const stack = h.stack;
    let appRequestsWhenBuilt: number | undefined;
    const markBuilt = index.markBuilt.bind(index);
    index.markBuilt = async (mapping) => {
      if (mapping === "mentors") appRequestsWhenBuilt ??= stack.app.requests.filter((r) => r.path.startsWith("/sync/mentor")).length;
      return markBuilt(mapping);
    };

    await h.cycle();

    // Built at the end of planning, it re-indexed every link the run had written meanwhile (a large
    // run writes while it plans): a first load of 1,000,000 records put its entries twice.
    expect(appRequestsWhenBuilt).toBe(0);
    expect(await index.built("mentors")).toBe(true);
  });

  it("a dry run after the date passed lists the expiry writes and writes nothing; the real run then applies them", async () => {
    const clock = offsetClock();
    clock.setDate("2026-12-06T06:00:00Z");
    h = await startSyncHarness({ config: expiringMentors(), clock });
    await h.cycle();
    await h.cycle();
    clock.setDate("2027-04-01T02:00:00Z");
    const at = mark(h);

    const dry = await runCycle(h.services, { full: false, dryRun: true, mapping: "mentors" });

    const planned = dry.plans.get("mentors")!;
    expect(planned.toApp.filter((op) => op.values?.certificationStatus === "expired").map((op) => op.appId).sort()).toEqual(["m-0004", "m-0009"]);
    expect(planned.toDataverse.filter((op) => op.values?.certificationStatus === "expired").map((op) => op.appId).sort()).toEqual(["m-0004", "m-0009"]);
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
    expect(h.stack.app.get("mentor", "m-0004")!.data!.certificationStatus).toBe("active");

    await h.cycle();
    expect(h.stack.app.get("mentor", "m-0004")!.data!.certificationStatus).toBe("expired");
    expect(contactByMentorId(h, "m-0004")!.hlf_certificationstatus).toBe(EXPIRED);
  });

  it("a renewed certification (new date, status active again) expires again only at its new date", async () => {
    const clock = offsetClock();
    clock.setDate("2026-12-06T06:00:00Z");
    h = await startSyncHarness({ config: expiringMentors(), clock });
    await h.cycle();
    clock.setDate("2027-04-01T02:00:00Z");
    await h.cycle();
    expect(h.stack.app.get("mentor", "m-0004")!.data!.certificationStatus).toBe("expired");

    h.stack.app.patch("mentor", "m-0004", { certificationStatus: "active", certifiedUntil: "2028-03-31" });
    await h.cycle();
    clock.setDate("2027-12-01T02:00:00Z");
    await h.cycle();
    expect(h.stack.app.get("mentor", "m-0004")!.data!.certificationStatus).toBe("active");
    expect(contactByMentorId(h, "m-0004")!.hlf_certificationstatus).toBe(ACTIVE);

    clock.setDate("2028-04-01T02:00:00Z");
    await h.cycle();
    expect(h.stack.app.get("mentor", "m-0004")!.data!.certificationStatus).toBe("expired");
    expect(contactByMentorId(h, "m-0004")!.hlf_certificationstatus).toBe(EXPIRED);
  });

  it("leaves a record whose Dataverse row changed since the last sync to the feed", async () => {
    const clock = offsetClock();
    clock.setDate("2026-12-06T06:00:00Z");
    h = await startSyncHarness({ config: expiringMentors(), clock });
    await h.cycle();
    // A person renews m-0004 in Dataverse; the same run's expiry pass must not expire it.
    const contact4 = contactByMentorId(h, "m-0004")!;
    h.stack.dataverse.ctx.ops.update("contact", String(contact4.contactid), { hlf_certifieduntil: "2029-03-31" }, "5a0e0f2c-6a39-4c3e-8d4b-000000000002");
    clock.setDate("2027-04-01T02:00:00Z");

    await h.cycle();

    expect(h.stack.app.get("mentor", "m-0004")!.data!).toMatchObject({ certificationStatus: "active", certifiedUntil: "2029-03-31" });
    expect(contactByMentorId(h, "m-0004")!.hlf_certificationstatus).toBe(ACTIVE);
  });
});

/** The same contract for the Table Storage index (Azurite) and the memory one. */
describe.each([
  ["Table Storage", () => createTableExpiryIndex({ connectionString: azuriteConnectionString() }, uniqueName("x"))],
  ["memory", async () => new MemoryExpiryIndex()],
] as const)("expiry index (%s)", (_name, make: () => Promise<ExpiryIndex>) => {
  const entry = (appId: string, when: string, whenField = "certifiedUntil", mapping = "mentors"): ExpiryEntry => ({ mapping, whenField, when, appId, dataverseId: `dv-${appId}` });

  it("returns the entries of one date field dated before the bound, oldest first, up to the limit", async () => {
    const index = await make();
    await index.put([entry("a/1", "2027-01-02"), entry("b#2", "2026-12-31"), entry("c", "2027-01-03"), entry("d", "2027-01-01", "other"), entry("e", "2026-01-01", "certifiedUntil", "groups")]);

    expect((await index.due("mentors", "certifiedUntil", "2027-01-03", 10)).map((e) => [e.appId, e.when, e.dataverseId])).toEqual([["b#2", "2026-12-31", "dv-b#2"], ["a/1", "2027-01-02", "dv-a/1"]]);
    expect((await index.due("mentors", "certifiedUntil", "2027-01-03", 1)).map((e) => e.appId)).toEqual(["b#2"]);
    expect(await index.due("mentors", "certifiedUntil", "2026-12-31", 10)).toEqual([]);
  });

  it("compares instants of datetime fields, and forgets removed entries", async () => {
    const index = await make();
    await index.put([entry("x", "2027-01-01T10:00:00.000Z", "validTo"), entry("y", "2027-01-01T12:00:00.000Z", "validTo")]);
    await index.remove([entry("x", "2027-01-01T10:00:00.000Z", "validTo")]);

    expect((await index.due("mentors", "validTo", "2027-01-01T12:30:00.000Z", 10)).map((e) => e.appId)).toEqual(["y"]);
    expect(await index.due("mentors", "validTo", "2027-01-01T11:59:59.999Z", 10)).toEqual([]);
  });

  it("remembers that a mapping's index was built", async () => {
    const index = await make();
    expect(await index.built("mentors")).toBe(false);
    await index.markBuilt("mentors");
    expect(await index.built("mentors")).toBe(true);
    expect(await index.built("groups")).toBe(false);
    expect(await index.due("mentors", "certifiedUntil", "~", 10)).toEqual([]);
  });
});

describe("expiry rules in the mapping file", () => {
  const withRule = (expires: unknown) => configWithMentors((m) => {
    (m.fields as { app: string; expires?: unknown }[]).find((f) => f.app === "certificationStatus")!.expires = expires;
  });

  it("accepts a rule on a choice field, with a date field and one of its choices", () => {
    expect(() => parseSyncConfig(withRule({ when: "certifiedUntil", becomes: "expired" }), "test config", { registry: defaultRegistry.names() })).not.toThrow();
  });

  it("names every problem of a rule: a field that is not a date, a value outside the choices", () => {
    const thrown = (() => { try { parseSyncConfig(withRule({ when: "firstName", becomes: "lapsed" }), "test config", { registry: defaultRegistry.names() }); } catch (e) { return e as Error; } })();

    expect(thrown?.message).toContain('.expires.when: "firstName" is a string field; expected a date or datetime field');
    expect(thrown?.message).toContain('.expires.becomes: must be one of the field\'s choices ("active", "expired", "pending"); got "lapsed"');
  });
});
