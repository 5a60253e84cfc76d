import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import { offsetClock } from "../../support/offsetClock.js";
import { startSyncHarness, type HarnessOptions, type SyncHarness } from "../../support/syncHarness.js";
import { contactsByMentorId, duplicatesOf, planOnly, restartedServices } from "./faultFixtures.js";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { deterministicGuid } from "../../../shared/sync/ids.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { OTHER_USER, configWithMentors, contact, contactIdOf, editDataverse, mark, writesSince } from "./syncFixtures.js";

/**
 * Issue #11: every change read from either side reaches the other side, or stays pending and is
 * tried again by later runs. Each case here lost a change (or made a duplicate) before the pending
 * ledger, row-version writes and echoes by content.
 */

/** A clock whose sleeps pass at once, and that a test can move forward (past a pending record's back-off). */
const testClock = offsetClock;

const MINUTE = 60_000;

async function pendingOf(h: SyncHarness, mapping = "mentors") {
  return h.services.state.listDeadLetters({ mapping });
}

/** A contact a person made (born in Dataverse, no mentor id yet); returns its id. */
function personMadeContact(h: SyncHarness): string {
  return h.stack.dataverse.insert("contact", { firstname: "Nora", lastname: "Vik", hlf_certificationstatus: 100000002, hlf_score: 3, hlf_ispublic: false }, OTHER_USER);
}

/**
 * Runs `then` right after the app's next POST has landed, with the new record's id, before the
 * writer goes on (a moment another process can act in). Returns the id, once known.
 */
function afterAppCreate(h: SyncHarness, then: (appId: string) => Promise<void>): () => string {
  const app = h.services.engine.deps.app;
  const create = app.create.bind(app);
  let appId = "";
  app.create = async (...args) => {
    const created = await create(...args);
    app.create = create;
    appId = created.id;
    await then(appId);
    return created;
  };
  return () => appId;
}

describe("convergence under ordinary faults", () => {
  let h: SyncHarness;
  let clock: ReturnType<typeof testClock>;
  afterEach(async () => h?.stop());

  async function start(options: HarnessOptions = {}): Promise<void> {
    clock = testClock();
    h = await startSyncHarness({ clock, ...options });
    await h.cycle();
  }

  it("outage: writes that fail for a whole run stay pending and the next scheduled run syncs them, backed off in between", async () => {
    await start();
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 88 });
    h.stack.app.failNext({ method: "PATCH", status: 503, count: Infinity });

    const failed = await h.cycle();

    expect(failed.status).toBe("completed_with_failures");
    const [pending] = await pendingOf(h);
    expect(pending).toMatchObject({ direction: "toApp", dataverseId: contactIdOf(1), appId: "m-0001", code: ErrorCodes.AttemptsExhausted, attempts: 1 });
    expect(Date.parse(pending.nextAttemptAt!)).toBeGreaterThan(clock.now());

    // The app is back, but the back-off has not passed: the record is not tried again yet.
    h.stack.app.clearFaults();
    const early = mark(h);
    await h.cycle();
    expect(writesSince(h, early).app).toEqual([]);
    expect(await pendingOf(h)).toHaveLength(1);

    clock.advance(10 * MINUTE);
    await h.cycle();

    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(88);
    expect(await pendingOf(h)).toEqual([]);
  });

  it("a run revisits many pending records with their Dataverse rows read 50 to a request, not one by one", async () => {
    await start();
    for (const n of [1, 2, 3] as const) editDataverse(h, "contact", contactIdOf(n), { hlf_score: 60 + n });
    h.stack.app.failNext({ method: "PATCH", status: 503, count: Infinity });
    await h.cycle();
    expect(await pendingOf(h)).toHaveLength(3);
    h.stack.app.clearFaults();
    clock.advance(10 * MINUTE);
    const at = mark(h);

    await h.cycle();

    for (const n of [1, 2, 3] as const) expect(h.stack.app.get("mentor", `m-000${n}`)!.data!.score).toBe(60 + n);
    const reads = h.stack.dataverse.log.entries().slice(at.dv).filter((e) => e.method === "GET" && e.path.includes("contacts"));
    expect(reads.filter((e) => /contacts\([0-9a-f-]{36}\)/.test(e.path))).toEqual([]);
    expect(reads.filter((e) => decodeURIComponent(e.path).includes(" or "))).toHaveLength(1);
    expect(await pendingOf(h)).toEqual([]);
  });

  it("outage on the Dataverse side: app changes whose writes failed reach Dataverse on a later run", async () => {
    await start();
    h.stack.app.patch("mentor", "m-0002", { firstName: "Olav" });
    h.stack.dataverse.faults.add({ method: "POST", path: "$batch", status: 503, count: Infinity });
    h.stack.dataverse.faults.add({ method: "POST", path: "UpdateMultiple", status: 503, count: Infinity });
    h.stack.dataverse.faults.add({ method: "PATCH", status: 503, count: Infinity });

    expect((await h.cycle()).status).toBe("completed_with_failures");
    expect(contact(h, contactIdOf(2)).firstname).not.toBe("Olav");

    h.stack.dataverse.faults.clear();
    clock.advance(10 * MINUTE);
    await h.cycle();

    expect(contact(h, contactIdOf(2)).firstname).toBe("Olav");
    expect(await pendingOf(h)).toEqual([]);
  });

  it("a run message whose starter died before storing the run row is still planned: its worker creates the row", async () => {
    await start();
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 77 });
    const { queues, engine, state } = h.services;
    const runId = randomUUID();
    // startRuns sends the message first and stores the run row after it; the process died in between.
    await queues.runs.send({ runId, mapping: "mentors", mode: "delta", dryRun: false, trigger: "timer", after: [] });
    const [msg] = await queues.runs.receive(1, 60_000);
    engine.deps.relieve = undefined;
    await engine.handleRun(msg.body);
    await queues.runs.complete(msg);
    for (let m = await queues.appWrites.receive(8, 60_000); m.length; m = await queues.appWrites.receive(8, 60_000)) {
      for (const x of m) {
        await engine.handleWrite(x.body);
        await queues.appWrites.complete(x);
      }
    }

    expect(await state.getRun(runId)).toMatchObject({ status: "succeeded", mapping: "mentors", toApp: { updated: 1 } });
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(77);
  });

  it("race: a person's edit of another column while our update waits in the queue reaches the app", async () => {
    await start();
    h.stack.app.patch("mentor", "m-0001", { firstName: "Olav" });
    await planOnly(h);
    editDataverse(h, "contact", contactIdOf(1), { lastname: "Persson" });

    await h.cycle();

    expect(contact(h, contactIdOf(1))).toMatchObject({ firstname: "Olav", lastname: "Persson" });
    expect(h.stack.app.get("mentor", "m-0001")!.data).toMatchObject({ firstName: "Olav", lastName: "Persson" });
    const at = mark(h);
    await h.cycle();
    expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
  });

  it("race: a person who edits the same column after the app did wins under newest-wins (the older app value does not overwrite it)", async () => {
    // Dataverse timestamps have whole seconds: the person's edit is made on an emulator clock 2 s ahead.
    let dvAhead = 0;
    await start({ dataverse: { now: () => Date.now() + dvAhead } });
    h.stack.app.patch("mentor", "m-0001", { firstName: "Olav" });
    await planOnly(h);
    dvAhead = 2_000;
    editDataverse(h, "contact", contactIdOf(1), { firstname: "Petter" });

    await h.cycle();

    expect(contact(h, contactIdOf(1)).firstname).toBe("Petter");
    expect(h.stack.app.get("mentor", "m-0001")!.data!.firstName).toBe("Petter");
  });

  it("a Dataverse row deleted between the plan and the app create is not created again in Dataverse", async () => {
    await start();
    const id = personMadeContact(h);
    await planOnly(h);
    h.stack.dataverse.ctx.ops.delete("contact", id, OTHER_USER);

    await h.cycle();
    await h.cycle();

    const created = h.stack.app.list("mentor").filter((r) => r.dataverseId === id);
    expect(created).toHaveLength(1);
    // mentors deactivate: the new app record follows the delete instead of coming back as a contact.
    expect(created[0].data!.active).toBe(false);
    expect(contactsByMentorId(h).get(created[0].id)).toBeUndefined();
    expect(await pendingOf(h)).toEqual([]);
  });

  it("a key write-back that fails for good leaves the pair linked: no second contact, and the key is written once it can be", async () => {
    await start();
    const id = personMadeContact(h);
    h.stack.dataverse.faults.add({ method: "PATCH", path: `contacts(${id})`, status: 403, code: "0x80040220", message: "The user does not hold the necessary privileges.", count: 1 });

    const first = await h.cycle();

    expect(first.status).toBe("completed_with_failures");
    const created = h.stack.app.list("mentor").filter((r) => r.dataverseId === id);
    expect(created).toHaveLength(1);
    clock.advance(10 * MINUTE);
    await h.cycle();
    await h.cycle();

    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
    expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === id)).toHaveLength(1);
    expect(contact(h, id).hlf_mentorid).toBe(created[0].id);
    expect(await pendingOf(h)).toEqual([]);
  });

  /**
   * A Dataverse-born row's app create is in flight (POSTed, its link not stored yet) when another
   * plan reads the app's feed: the new app record looks unlinked there, and that plan creates it in
   * Dataverse as a second row. `at` is when that plan's writes run: before the link of the first
   * is stored (its key write-back then meets the second row), or after the link and before the
   * write-back (the second row's link claim is refused).
   */
  async function racePlanAgainstAppCreate(at: "before-link" | "before-write-back"): Promise<{ id: string; appId: string }> {
    await start();
    const id = personMadeContact(h);
    await planOnly(h);
    const { engine, queues } = h.services;
    const otherWrites = async () => {
      const [write] = await queues.dataverseWrites.receive(1, 60_000);
      await engine.handleWrite(write.body);
      await queues.dataverseWrites.complete(write);
    };
    const newAppId = afterAppCreate(h, async () => {
      await planOnly(h);
      if (at === "before-link") await otherWrites();
    });
    const dataverse = engine.deps.dataverse;
    const update = dataverse.update.bind(dataverse);
    let raced = false;
    dataverse.update = async (entitySet, rowId, body, options) => {
      if (at === "before-write-back" && rowId === id && !raced) {
        raced = true;
        expect((await h.services.state.getLinkByApp("mentors", newAppId()))?.dataverseId).toBe(id);
        await otherWrites();
      }
      return update(entitySet, rowId, body, options);
    };
    const [write] = await queues.appWrites.receive(1, 60_000);
    await engine.handleWrite(write.body);
    await queues.appWrites.complete(write);
    dataverse.update = update;
    return { id, appId: newAppId() };
  }

  for (const at of ["before-link", "before-write-back"] as const) {
    it(`race: a plan that meets a Dataverse-born record's new app record ${at === "before-link" ? "before its link" : "after its link, before its key write-back"} leaves one contact and deletes nothing in the app`, async () => {
      const { id, appId } = await racePlanAgainstAppCreate(at);
      // The other plan did create a second contact for the app record (our deterministic id)...
      const second = h.stack.dataverse.log.entries().some((w) => w.method === "POST" && w.path.includes("CreateMultiple") && w.status < 400 && w.body.includes(appId));
      expect(second).toBe(true);

      await h.cycle();
      await h.cycle();

      // ...which is gone again: one contact holds the key, the original row, and the app record is live.
      expect(h.stack.dataverse.rows("contact").filter((c) => c.hlf_mentorid === appId).map((c) => c.contactid)).toEqual([id]);
      expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
      const records = h.stack.app.list("mentor").filter((r) => r.dataverseId === id);
      expect(records.map((r) => [r.id, r.deleted ?? false, r.data!.active !== false])).toEqual([[appId, false, true]]);
      expect((await h.services.state.getLinkByApp("mentors", appId))?.dataverseId).toBe(id);
      expect(await pendingOf(h)).toEqual([]);
    });
  }

  /**
   * The same race, and a third plan reads Dataverse while the second contact exists: after the
   * other plan created it, before its writer found the claim refused and deleted it (the crash test
   * found this: seed 9998261). That row holds the new app record's key, yet it is not a new record:
   * a full read created it in the app as a second mentor, whose key write-back took the row over.
   * A delta decides the app record with its original row (the person's edit below) and writes the
   * key there too, which the second row holds: decided again, not failed (crash test seed
   * 1247436291). The third plan's writes run at once, while the second contact exists; a person's
   * edit of the app record made just before it reaches the original row.
   */
  for (const mode of ["full", "delta"] as const) {
    it(`race: a ${mode} plan that reads the second contact before its writer deletes it ${mode === "full" ? "does not create it in the app" : "meets the key there on its update of the original row, and decides again"}`, async () => {
      await start();
      const id = personMadeContact(h);
      await planOnly(h);
      const { engine, queues } = h.services;
      let second = "";
      const newAppId = afterAppCreate(h, async () => void (await planOnly(h)));
      const dataverse = engine.deps.dataverse;
      const writeMany = dataverse.writeMany.bind(dataverse);
      dataverse.writeMany = async (...args) => {
        const results = await writeMany(...args);
        const [created] = results;
        if (args[2].some((w) => w.kind === "create") && created.ok) {
          second = created.id!;
          h.stack.app.patch("mentor", newAppId(), { firstName: "Norah" });
          await planOnly(h, "mentors", mode);
          // Its writes run at once, while the second contact still exists.
          for (const queue of [queues.dataverseWrites, queues.appWrites]) {
            for (let [msg] = await queue.receive(1, 60_000); msg; [msg] = await queue.receive(1, 60_000)) {
              await engine.handleWrite(msg.body);
              await queue.complete(msg);
            }
          }
        }
        return results;
      };
      const update = dataverse.update.bind(dataverse);
      let raced = false;
      dataverse.update = async (entitySet, rowId, body, options) => {
        if (rowId === id && !raced) {
          raced = true;
          const [write] = await queues.dataverseWrites.receive(1, 60_000);
          await engine.handleWrite(write.body);
          await queues.dataverseWrites.complete(write);
        }
        return update(entitySet, rowId, body, options);
      };
      const [write] = await queues.appWrites.receive(1, 60_000);
      await engine.handleWrite(write.body);
      await queues.appWrites.complete(write);
      Object.assign(dataverse, { writeMany, update });
      const appId = newAppId();
      expect(second).not.toBe("");

      await h.cycle();
      // Settled without waiting out a back-off: nothing was failed for good.
      expect(await pendingOf(h)).toEqual([]);
      expect(contact(h, id).firstname).toBe("Norah");
      clock.advance(10 * MINUTE);
      await h.cycle();

      expect(h.stack.dataverse.rows("contact").filter((c) => c.hlf_mentorid === appId).map((c) => c.contactid)).toEqual([id]);
      expect(h.stack.dataverse.rows("contact").some((c) => c.contactid === second)).toBe(false);
      expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === second)).toEqual([]);
      expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === id).map((r) => [r.id, r.data!.active !== false])).toEqual([[appId, true]]);
      expect((await h.services.state.getLinkByApp("mentors", appId))?.dataverseId).toBe(id);
      expect(contact(h, id).firstname).toBe("Norah");
      expect(await pendingOf(h)).toEqual([]);
    });
  }

  /**
   * A key write-back meets the second row of the re-plan race, and before it can resolve that, a
   * second writer of the same create interferes: it has already moved the key to the row (the
   * write-back is done), or it makes the second row again after ours deleted it (tried again).
   */
  for (const meanwhile of ["moved the key to the row", "made the second row again"] as const) {
    it(`a key write-back that meets the second row, while a second writer of the same create ${meanwhile}, is ${meanwhile.startsWith("moved") ? "done" : "tried again"}, not failed`, async () => {
      await start();
      const id = personMadeContact(h);
      await planOnly(h);
      const { engine, queues } = h.services;
      const { dataverse } = engine.deps;
      const secondRow = () => ({ contactid: deterministicGuid("mentors", "contacts", newAppId()), firstname: "Nora", lastname: "Vik", hlf_mentorid: newAppId() });
      // A re-plan's writer has made the second row of the new app record (its deterministic id) with the key.
      const newAppId = afterAppCreate(h, async () => void h.stack.dataverse.insert("contact", secondRow(), OTHER_USER));
      const retrieveByKey = dataverse.retrieveByKey.bind(dataverse);
      const remove = dataverse.delete.bind(dataverse);
      if (meanwhile === "moved the key to the row") {
        dataverse.retrieveByKey = async (...args) => {
          h.stack.dataverse.ctx.ops.delete("contact", secondRow().contactid, OTHER_USER);
          editDataverse(h, "contact", id, { hlf_mentorid: newAppId() });
          dataverse.retrieveByKey = retrieveByKey;
          return retrieveByKey(...args);
        };
      } else {
        dataverse.delete = async (...args) => {
          await remove(...args);
          h.stack.dataverse.insert("contact", secondRow(), OTHER_USER);
          dataverse.delete = remove;
        };
      }
      const [write] = await queues.appWrites.receive(1, 60_000);
      const outcome = await engine.handleWrite(write.body);
      await queues.appWrites.complete(write);
      Object.assign(dataverse, { retrieveByKey, delete: remove });
      const appId = newAppId();

      expect(outcome.failures).toEqual([]);
      expect((await h.services.state.getLinkByApp("mentors", appId))?.dataverseId).toBe(id);
      await h.cycle();
      expect(h.stack.dataverse.rows("contact").filter((c) => c.hlf_mentorid === appId).map((c) => c.contactid)).toEqual([id]);
      expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === id).map((r) => r.id)).toEqual([appId]);
      expect(await pendingOf(h)).toEqual([]);
    });
  }

  it("a create that met a key held by a row deleted before the writer could read it is decided again, not failed", async () => {
    await start();
    h.stack.app.put("mentor", "m-0050", { firstName: "Siv", lastName: "Dahl", certificationStatus: "active", score: 4, isPublic: true, email: "siv@example.org" });
    await planOnly(h);
    // A person creates a contact with the new mentor's id, and deletes it again while our create of it fails.
    const holder = h.stack.dataverse.insert("contact", { firstname: "Siv", lastname: "Dahl", hlf_mentorid: "m-0050", hlf_certificationstatus: 100000000, hlf_score: 4, hlf_ispublic: true }, OTHER_USER);
    const { engine, queues } = h.services;
    const dataverse = engine.deps.dataverse;
    const writeMany = dataverse.writeMany.bind(dataverse);
    let refused = false;
    dataverse.writeMany = async (...args) => {
      const results = await writeMany(...args);
      refused ||= results.some((r) => !r.ok && r.error.code === ErrorCodes.DuplicateKey);
      if (refused) h.stack.dataverse.ctx.ops.delete("contact", holder, OTHER_USER);
      dataverse.writeMany = writeMany;
      return results;
    };
    const [write] = await queues.dataverseWrites.receive(1, 60_000);
    const outcome = await engine.handleWrite(write.body);
    await queues.dataverseWrites.complete(write);
    expect(refused).toBe(true);
    expect(outcome.failures).toEqual([]);

    await h.cycle();

    const rows = h.stack.dataverse.rows("contact").filter((c) => c.hlf_mentorid === "m-0050");
    expect(rows.map((c) => [c.contactid !== holder, c.firstname])).toEqual([[true, "Siv"]]);
    expect((await h.services.state.getLinkByApp("mentors", "m-0050"))?.dataverseId).toBe(rows[0].contactid);
    expect(await pendingOf(h)).toEqual([]);
  });

  /**
   * A new mentor and a contact a person made for it with its id are paired by key, and just before
   * that pairing's link is stored a writer links the mentor to another contact. The link is a claim:
   * the other link stays, and the contact waits pending instead of taking the mentor over. With
   * equal values the plan stores the link (or a notice's re-read does); with a newer value on one
   * side the writer to the other side does, after its update.
   */
  for (const values of ["equal", "equal, found by a notice", "newer in the app", "newer in Dataverse"] as const) {
    it(`a pairing by key (values ${values}) does not take over a link a writer stored meanwhile`, async () => {
      await start();
      const data = { firstName: "Una", lastName: "Rud", certificationStatus: "pending", score: 2, isPublic: false, email: "una@example.org" };
      h.stack.app.put("mentor", "m-0060", data);
      const byHand = h.stack.dataverse.insert("contact", {
        firstname: values.startsWith("equal") ? "Una" : "Unn", lastname: "Rud", emailaddress1: "una@example.org", hlf_mentorid: "m-0060", hlf_certificationstatus: 100000002, hlf_score: 2, hlf_ispublic: false,
      }, OTHER_USER);
      if (!values.startsWith("equal")) clock.advance(MINUTE);
      if (values === "newer in the app") h.stack.app.patch("mentor", "m-0060", { firstName: "Una" });
      if (values === "newer in Dataverse") editDataverse(h, "contact", byHand, { firstname: "Unni" });
      const elsewhere = h.stack.dataverse.insert("contact", { firstname: "Una", lastname: "Rud", hlf_certificationstatus: 100000002, hlf_score: 2, hlf_ispublic: false }, OTHER_USER);
      const state = h.services.state;
      const putLinks = state.putLinks.bind(state);
      let raced = false;
      state.putLinks = async (links) => {
        if (!raced && links.some((l) => l.appId === "m-0060")) {
          raced = true;
          await state.putLink({ mapping: "mentors", appId: "m-0060", dataverseId: elsewhere, base: {}, hash: "", lastSyncedAt: new Date(clock.now()).toISOString() });
        }
        return putLinks(links);
      };

      if (values === "equal, found by a notice") await h.services.engine.handleRecordEvent({ mapping: "mentors", side: "dataverse", id: byHand, receivedAt: new Date(clock.now()).toISOString() });
      else await h.cycle();
      state.putLinks = putLinks;
      await h.cycle();

      expect(raced).toBe(true);
      expect((await state.getLinkByApp("mentors", "m-0060"))?.dataverseId).toBe(elsewhere);
      expect((await state.getLinkByDataverse("mentors", byHand))).toBeNull();
      expect((await pendingOf(h)).filter((d) => d.recordId === byHand)).toMatchObject([{ direction: "toApp", code: ErrorCodes.DuplicateRow }]);
    });
  }

  /**
   * A person moves a mentor's key from its contact to another one. The new holder is not that
   * mentor's row (the mentor is linked to the first contact) nor a new record: it waits pending for
   * an operator, and neither its values nor its link reach the mentor, found by a run or a notice.
   * Once it is deleted, the next run clears the entry: a delta (after the run) or a full read (after
   * the notice).
   */
  for (const path of ["run", "notice"] as const) {
    it(`a contact given a linked mentor's key by hand is held pending (found by a ${path}), not created in the app nor merged into that mentor`, async () => {
      await start();
      const first = contactIdOf(1);
      const appId = String(contact(h, first).hlf_mentorid);
      const firstName = h.stack.app.get("mentor", appId)!.data!.firstName;
      editDataverse(h, "contact", first, { hlf_mentorid: null });
      const other = h.stack.dataverse.insert("contact", { firstname: "Ida", lastname: "Holm", hlf_mentorid: appId, hlf_certificationstatus: 100000002, hlf_score: 1, hlf_ispublic: false }, OTHER_USER);
      clock.advance(MINUTE);

      if (path === "notice") await h.services.engine.handleRecordEvent({ mapping: "mentors", side: "dataverse", id: other, receivedAt: new Date(clock.now()).toISOString() });
      else await h.cycle();

      expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === other)).toEqual([]);
      expect(h.stack.app.get("mentor", appId)!.data!.firstName).toBe(firstName);
      expect((await h.services.state.getLinkByApp("mentors", appId))?.dataverseId).toBe(first);
      const held = (await pendingOf(h)).find((d) => d.recordId === other);
      expect(held).toMatchObject({ direction: "toApp", code: ErrorCodes.DuplicateRow, dataverseId: other });
      expect(held!.message).toContain(`holds the key of app record ${appId}, which is linked to row ${first}`);

      // Once the row is deleted, the next run (a delta; or a full read, which no longer finds it) settles the entry without waiting out its back-off.
      h.stack.dataverse.ctx.ops.delete("contact", other, OTHER_USER);
      await h.cycle({ full: path === "notice" });
      expect((await pendingOf(h)).filter((d) => d.recordId === other)).toEqual([]);
    });
  }

  it("a create message delivered again after its link landed is written as an upsert of the same row and keeps the link's base", async () => {
    await start();
    h.stack.app.put("mentor", "m-0042", { firstName: "Ola", lastName: "Berg", certificationStatus: "active", score: 5, isPublic: true, email: "ola@example.org" });
    await planOnly(h);
    const { engine, queues, state } = h.services;
    const [write] = await queues.dataverseWrites.receive(1, 60_000);
    await engine.handleWrite(write.body);
    const landed = await state.getLinkByApp("mentors", "m-0042");

    // The process died before the message was deleted: it comes back and is handled again.
    await engine.handleWrite(write.body);
    await queues.dataverseWrites.complete(write);

    expect(landed?.base).toMatchObject({ firstName: "Ola" });
    expect(await state.getLinkByApp("mentors", "m-0042")).toMatchObject({ dataverseId: landed!.dataverseId, base: landed!.base, hash: landed!.hash });
    expect(contactsByMentorId(h).get("m-0042")).toBe(1);
    expect(h.stack.dataverse.row("contact", landed!.dataverseId)).toMatchObject({ firstname: "Ola" });
  });

  it("a change of a record outside app.filter waits pending and syncs once the record matches again", async () => {
    await start({ config: configWithMentors((m) => { (m.app as Record<string, unknown>).filter = "isPublic == true"; }) });
    h.stack.app.patch("mentor", "m-0001", { isPublic: false });
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 12 });

    await h.cycle();

    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).not.toBe(12);
    expect((await pendingOf(h)).map((p) => p.code)).toEqual([ErrorCodes.Filtered]);

    h.stack.app.patch("mentor", "m-0001", { isPublic: true });
    await h.cycle();

    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(12);
    expect(contact(h, contactIdOf(1)).hlf_ispublic).toBe(true);
    expect(await pendingOf(h)).toEqual([]);
  });

  it("an unmappable app value does not lose a concurrent Dataverse change once the value is fixed", async () => {
    await start();
    h.stack.app.patch("mentor", "m-0001", { certificationStatus: "bogus" });
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 12 });

    expect((await h.cycle()).status).toBe("completed_with_failures");
    expect((await pendingOf(h)).map((p) => p.code)).toEqual([ErrorCodes.Unmappable]);

    h.stack.app.patch("mentor", "m-0001", { certificationStatus: "active" });
    await h.cycle();

    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(12);
    expect(await pendingOf(h)).toEqual([]);
  });

  it("a manual conflict resolved in the app keeps the other side's non-conflicting change", async () => {
    await start({ config: configWithMentors((m) => { m.conflict = { strategy: "manual" }; }) });
    h.stack.app.patch("mentor", "m-0001", { firstName: "Anna" });
    editDataverse(h, "contact", contactIdOf(1), { firstname: "Berit", lastname: "Lie" });

    await h.cycle();
    expect((await h.services.state.listConflicts({ mapping: "mentors" }))).toHaveLength(1);
    expect((await pendingOf(h)).map((p) => p.code)).toEqual([ErrorCodes.ConflictParked]);

    // Resolved in the app: it takes Dataverse's first name.
    h.stack.app.patch("mentor", "m-0001", { firstName: "Berit" });
    await h.cycle();

    expect(h.stack.app.get("mentor", "m-0001")!.data).toMatchObject({ firstName: "Berit", lastName: "Lie" });
    expect(await pendingOf(h)).toEqual([]);
  });

  it("one transient Table Storage error while resolving a parent lookup fails one record for one run, not all the parent's children for good", async () => {
    await start();
    for (const n of [1, 2, 3] as const) editDataverse(h, "contact", contactIdOf(n), { hlf_score: 40 + n });
    const { state } = h.services;
    const original = state.getLinkByDataverse.bind(state);
    let failures = 0;
    state.getLinkByDataverse = async (mapping, id) => {
      if (mapping === "groups" && failures++ === 0) throw new SyncError("transient", "STORAGE_UNAVAILABLE", "Table Storage is briefly unavailable");
      return original(mapping, id);
    };

    await h.cycle();
    state.getLinkByDataverse = original;
    const failedNow = (await pendingOf(h)).length;
    expect(failedNow).toBeLessThanOrEqual(1);
    clock.advance(10 * MINUTE);
    await h.cycle();

    for (const n of [1, 2, 3] as const) expect(h.stack.app.get("mentor", `m-000${n}`)!.data!.score).toBe(40 + n);
    expect(await pendingOf(h)).toEqual([]);
  });

  it("a mapping that looks itself up: a report created together with its manager syncs on the next run instead of failing for ever", async () => {
    await start({ schema: teamsSchema(), config: teamsConfig(), seed: false });
    h.stack.app.put("team", "t-top", { name: "Top", parentId: null });
    h.stack.app.put("team", "t-sub", { name: "Sub", parentId: "t-top" });

    await h.cycle();
    clock.advance(10 * MINUTE);
    await h.cycle();

    const rows = h.stack.dataverse.rows("hlf_team");
    const top = rows.find((r) => r.hlf_code === "t-top")!;
    const sub = rows.find((r) => r.hlf_code === "t-sub")!;
    expect(rows).toHaveLength(2);
    expect(sub._hlf_parentteamid_value).toBe(top.hlf_teamid);
    expect(await pendingOf(h, "teams")).toEqual([]);
  });
});


describe("idempotent creates with a natural key", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("a Dataverse create that landed but whose link write was lost is not created a second time in the app", async () => {
    const clock = testClock();
    h = await startSyncHarness({ clock, schema: teamsSchema(), config: teamsConfig({ naturalKey: true }), seed: false });
    await h.cycle();
    h.stack.app.put("team", "t-1", { code: "T1", name: "One", parentId: null });
    const { state } = h.services;
    const putLinks = state.putLinks.bind(state);
    // The create lands; every write of its link after it fails (Table Storage trouble) until the
    // run gives up on the record.
    state.putLinks = async (links) => {
      if (links.some((l) => !l.pendingCreate)) throw new SyncError("transient", "STORAGE_UNAVAILABLE", "Table Storage is unavailable");
      return putLinks(links);
    };
    await h.cycle();
    state.putLinks = putLinks;
    expect(h.stack.dataverse.rows("hlf_team")).toHaveLength(1);

    await h.cycle();
    clock.advance(10 * MINUTE);
    await h.cycle();

    expect(h.stack.app.list("team")).toHaveLength(1);
    expect(h.stack.dataverse.rows("hlf_team")).toHaveLength(1);
    const link = await state.getLinkByApp("teams", "t-1");
    expect(link).toMatchObject({ dataverseId: h.stack.dataverse.rows("hlf_team")[0].hlf_teamid });
    expect(link?.pendingCreate).toBeUndefined();
    expect(await h.services.state.listDeadLetters({ mapping: "teams" })).toEqual([]);
  });

  it("a Dataverse create whose answer was lost, followed by a crash, is matched, not created again on either side", async () => {
    h = await startSyncHarness({ clock: testClock(), schema: teamsSchema(), config: teamsConfig({ naturalKey: true }), seed: false });
    await h.cycle();
    h.stack.app.put("team", "t-1", { code: "T1", name: "One", parentId: null });
    await planOnly(h, "teams");
    const [write] = await h.services.queues.dataverseWrites.receive(1, 60_000);
    h.stack.dataverse.faults.add({ method: "POST", path: "CreateMultiple", lostAnswer: true });
    // The create lands, its answer is lost, and the process dies before it learns what happened.
    await h.services.engine.handleWrite(write.body).catch(() => undefined);
    expect(h.stack.dataverse.rows("hlf_team")).toHaveLength(1);

    const restarted = restartedServices(h.services);
    await runCycle(restarted, { full: false, dryRun: false });
    await runCycle(restarted, { full: false, dryRun: false });

    expect(h.stack.app.list("team")).toHaveLength(1);
    expect(h.stack.dataverse.rows("hlf_team")).toHaveLength(1);
    expect((await h.services.state.getLinkByApp("teams", "t-1"))?.dataverseId).toBe(h.stack.dataverse.rows("hlf_team")[0].hlf_teamid);
  });
});

/** The demo schema plus a table whose rows look up rows of the same table (a manager and its reports). */
function teamsSchema(): object {
  const schema = JSON.parse(readFileSync(new URL("../../emulators/dataverse/demo-schema.json", import.meta.url), "utf8")) as { tables: Record<string, unknown>[] };
  schema.tables.push({
    logicalName: "hlf_team", entitySetName: "hlf_teams", primaryId: "hlf_teamid", primaryName: "hlf_name", changeTracking: true,
    columns: [
      { name: "hlf_name", type: "string", maxLength: 100 },
      { name: "hlf_code", type: "string", maxLength: 100 },
      { name: "hlf_parentteamid", type: "lookup", targets: ["hlf_team"], navigationProperty: "hlf_ParentTeamId" },
      { name: "statecode", type: "state", options: [{ value: 0, label: "Active", defaultStatus: 1 }, { value: 1, label: "Inactive", defaultStatus: 2 }] },
      { name: "statuscode", type: "status", options: [{ value: 1, label: "Active", state: 0 }, { value: 2, label: "Inactive", state: 1 }] },
    ],
    alternateKeys: [{ name: "hlf_code_key", columns: ["hlf_code"] }],
    rows: [],
  });
  return schema;
}

function teamsConfig(options: { naturalKey?: boolean } = {}): SyncConfigInput {
  const key = options.naturalKey
    ? { app: "code", dataverse: "hlf_code", type: "string" }
    : { app: "id", dataverse: "hlf_code", type: "string", direction: "to-dataverse" };
  return {
    schedule: "0 0 2 * * *",
    mappings: [{
      name: "teams", app: { entity: "team" }, dataverse: { entitySet: "hlf_teams", table: "hlf_team", key: ["hlf_code"] },
      direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore",
      fields: [
        key,
        { app: "name", dataverse: "hlf_name", type: "string" },
        { app: "parentId", dataverse: "hlf_parentteamid", type: "lookup", lookup: { mapping: "teams", navigationProperty: "hlf_ParentTeamId" } },
      ],
    }],
  } as unknown as SyncConfigInput;
}
