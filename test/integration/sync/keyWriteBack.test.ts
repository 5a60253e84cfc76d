import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { BulkWrite } from "../../../shared/ports.js";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { deterministicGuid } from "../../../shared/sync/ids.js";
import { demoConfig, startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appMentorsByDataverseId, contactsByMentorId, duplicatesOf, planOnly, restartedServices } from "./faultFixtures.js";
import { OTHER_USER, contact } from "./syncFixtures.js";

/**
 * Issue #18: a record that began in Dataverse is created in the app, and the app's id is written
 * back to the row's key column. A message's write-backs go out together (UpdateMultiple, its
 * `$batch` fallback), with the guarantees of the single write-back: its links are stored first, a
 * key held by our own duplicate row is taken back, any other holder fails only its record, and a
 * process that dies in between converges.
 */

/** `count` contacts a person creates in Dynamics (no app id yet); returns their ids. */
function dataverseBorn(h: SyncHarness, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => h.stack.dataverse.insert("contact", {
    firstname: `Dv${from + i}`, lastname: "Born", hlf_certificationstatus: 100000000, hlf_score: (from + i) % 100, hlf_ispublic: false,
  }, OTHER_USER));
}

function appRecordOf(h: SyncHarness, dataverseId: string) {
  const records = h.stack.app.list("mentor").filter((r) => r.dataverseId === dataverseId);
  expect(records).toHaveLength(1);
  return records[0];
}

/** Dataverse requests since log index `since` that write contacts' keys one row at a time. */
function singleContactPatches(h: SyncHarness, since: number, ids: string[]) {
  return h.stack.dataverse.log.entries().slice(since).filter((e) => e.method === "PATCH" && !e.inBatch && ids.some((id) => e.path.endsWith(`/contacts(${id})`)));
}

function updateMultiples(h: SyncHarness, since: number) {
  return h.stack.dataverse.log.entries().slice(since).filter((e) => e.method === "POST" && e.path.endsWith("/contacts/Microsoft.Dynamics.CRM.UpdateMultiple"));
}

/** Every app mentor has one contact holding its id, every Dataverse-born contact one app mentor holding its key. */
function expectConverged(h: SyncHarness, born: string[]): void {
  expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
  expect(duplicatesOf(appMentorsByDataverseId(h))).toEqual([]);
  const keys = [...contactsByMentorId(h).keys()].sort();
  expect(keys).toEqual(h.stack.app.list("mentor").map((r) => r.id).sort());
  for (const id of born) expect(contact(h, id).hlf_mentorid).toBe(appRecordOf(h, id).id);
}

describe("key write-back after app creates", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("writes a message's new app ids back to their rows in one UpdateMultiple, not one PATCH a row", async () => {
    // Prepare
    h = await startSyncHarness();
    await h.cycle();
    const born = dataverseBorn(h, 30);
    const since = h.stack.dataverse.log.entries().length;

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("succeeded");
    expect(summary.mappings.find((m) => m.name === "mentors")!.toApp.created).toBe(30);
    const bulk = updateMultiples(h, since);
    expect(bulk.map((e) => e.status)).toEqual([204]);
    expect((JSON.parse(bulk[0].body) as { Targets: unknown[] }).Targets).toHaveLength(30);
    expect(singleContactPatches(h, since, born)).toEqual([]);
    for (const id of born) {
      const record = appRecordOf(h, id);
      expect(contact(h, id).hlf_mentorid).toBe(record.id);
      expect(await h.services.state.getLinkByDataverse("mentors", id)).toMatchObject({ appId: record.id, base: { id: record.id } });
    }
    expect((await h.cycle()).totals.written).toBe(0);
  });

  it("in a batch, takes a key back from our own duplicate row and fails only the record whose key another row holds", async () => {
    // Prepare: while the app creates run, a re-plan creates one new app record in Dataverse as a
    // second row (our deterministic id), and a person gives another one's id to a contact of theirs.
    h = await startSyncHarness();
    await h.cycle();
    const born = dataverseBorn(h, 6);
    const [ours, theirs] = [born[1], born[4]];
    const app = h.services.engine.deps.app;
    const create = app.create.bind(app);
    const foreign = randomUUID();
    let duplicate = "";
    app.create = async (entity, data, dataverseId) => {
      const created = await create(entity, data, dataverseId);
      if (dataverseId === ours) {
        duplicate = deterministicGuid("mentors", "contacts", created.id);
        h.stack.dataverse.insert("contact", { contactid: duplicate, firstname: "Second", lastname: "Row", hlf_mentorid: created.id });
      }
      if (dataverseId === theirs) h.stack.dataverse.insert("contact", { contactid: foreign, firstname: "Someone", lastname: "Else", hlf_mentorid: created.id }, OTHER_USER);
      return created;
    };
    const since = h.stack.dataverse.log.entries().length;

    // Act
    const summary = await h.cycle();
    app.create = create;

    // Assess: the bulk call failed on the taken keys and its rows were resent one by one in a $batch
    expect(updateMultiples(h, since).map((e) => e.status >= 400)).toEqual([true]);
    expect(h.stack.dataverse.log.entries().slice(since).filter((e) => e.inBatch && e.method === "PATCH" && born.some((id) => e.path.endsWith(`contacts(${id})`)))).toHaveLength(6);
    // our duplicate is gone and the original row holds the key
    expect(h.stack.dataverse.row("contact", duplicate)).toBeUndefined();
    expect(contact(h, ours).hlf_mentorid).toBe(appRecordOf(h, ours).id);
    // the other holder keeps its key; only that record failed, with DUPLICATE_KEY
    expect(contact(h, foreign).hlf_mentorid).toBe(appRecordOf(h, theirs).id);
    expect(contact(h, theirs).hlf_mentorid ?? null).toBeNull();
    expect(summary.status).toBe("completed_with_failures");
    expect(summary.failures.map((f) => [f.id, f.code])).toEqual([[theirs, "DUPLICATE_KEY"]]);
    for (const id of born.filter((b) => b !== theirs)) expect(contact(h, id).hlf_mentorid).toBe(appRecordOf(h, id).id);
    // the failed one stays linked (its link was stored before the write-back): no second contact is made for it
    expect((await h.services.state.getLinkByDataverse("mentors", theirs))?.appId).toBe(appRecordOf(h, theirs).id);
  });

  for (const at of ["before their links", "after their links, before the write-back"] as const) {
    it(`converges with 0 lost and 0 duplicated when the process dies between a batch of app creates and their key write-back (${at})`, async () => {
      // Prepare: 25 rows born in Dataverse, planned into app-write messages of 10
      const config = demoConfig();
      h = await startSyncHarness({ config: { ...config, options: { ...(config.options ?? {}), chunkSize: 10 } } });
      await h.cycle();
      const born = dataverseBorn(h, 25);
      const { engine, queues, state } = h.services;
      await planOnly(h);
      const writes = await queues.appWrites.receive(32, 60_000);
      expect(writes).toHaveLength(3);

      // The first message's app creates land; then the process dies: it never returns from storing
      // their links, or from the write-back of their keys.
      let died!: () => void;
      const dead = new Promise<void>((resolve) => (died = resolve));
      const never = new Promise<never>(() => undefined);
      if (at === "before their links") {
        const putLinks = state.putLinks.bind(state);
        state.putLinks = async (links) => {
          if (!links.some((l) => l.claim)) return putLinks(links);
          state.putLinks = putLinks;
          died();
          return never;
        };
      } else {
        const dataverse = engine.deps.dataverse;
        const writeMany = dataverse.writeMany.bind(dataverse);
        dataverse.writeMany = async (entitySet: string, table: string, batch: BulkWrite[], options?: { primaryId?: string }) => {
          dataverse.writeMany = writeMany;
          died();
          return never;
        };
      }
      void engine.handleWrite(writes[0].body);
      await dead;
      const createdBeforeDeath = h.stack.app.list("mentor").filter((r) => born.includes(r.dataverseId ?? ""));
      expect(createdBeforeDeath).toHaveLength(10);
      expect(createdBeforeDeath.every((r) => contact(h, r.dataverseId!).hlf_mentorid == null)).toBe(true);
      if (at !== "before their links") expect((await state.getLinkByDataverse("mentors", createdBeforeDeath[0].dataverseId!))?.appId).toBe(createdBeforeDeath[0].id);

      // Act: a new process on the same state and systems runs cycles until nothing is left
      const restarted = restartedServices(h.services);
      const first = await runCycle(restarted, { full: false, dryRun: false });
      const second = await runCycle(restarted, { full: false, dryRun: false });

      // Assess: every Dataverse-born row has one app record, which holds its key; nothing doubled
      expect(first.summary.status).toBe("succeeded");
      expect(h.stack.app.list("mentor").filter((r) => born.includes(r.dataverseId ?? ""))).toHaveLength(25);
      expectConverged(h, born);
      for (const r of createdBeforeDeath) expect(appRecordOf(h, r.dataverseId!).id).toBe(r.id);
      expect(second.summary.totals.written).toBe(0);
      expect(await state.listDeadLetters({ mapping: "mentors" })).toEqual([]);
    });
  }
});
