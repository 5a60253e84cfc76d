import { afterEach, describe, expect, it } from "vitest";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { demoConfig, startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, appMentorsByDataverseId, contactsByMentorId, duplicatesOf, planOnly, skippingClock, restartedServices } from "./faultFixtures.js";

/** The two seed contacts without hlf_mentorid: they began in Dataverse and are created in the app. */
const DATAVERSE_ONLY = ["c0a80001-0000-4000-8000-000000000004", "c0a80001-0000-4000-8000-000000000005"];

function smallChunks(chunkSize: number) {
  const config = demoConfig();
  return { ...config, options: { ...(config.options ?? {}), chunkSize } };
}


/** Both sides agree: every app mentor has exactly one contact with its id, and the reverse. */
function expectConverged(h: SyncHarness): void {
  const contacts = contactsByMentorId(h);
  expect(duplicatesOf(contacts)).toEqual([]);
  expect(duplicatesOf(appMentorsByDataverseId(h))).toEqual([]);
  const appIds = h.stack.app.list("mentor").map((r) => r.id).sort();
  expect([...contacts.keys()].sort()).toEqual(appIds);
}

describe("crash recovery", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("converges after a cycle is killed between write messages: nothing lost, nothing duplicated", async () => {
    // Prepare: 45 app records to create in Dataverse (5 messages of 10), 2 contacts to create in the app.
    h = await startSyncHarness({ config: smallChunks(10) });
    const added = addMentors(h, 40);
    await h.cycle({ mapping: "groups" });
    const { engine, queues, state } = h.services;
    // As under the Functions host: the planned writes stay on the queue (no in-process relief).
    const runId = await planOnly(h);
    const writes = await queues.dataverseWrites.receive(32, 60_000);
    expect(writes).toHaveLength(5);
    // Two chunks complete; the third lands in Dataverse but the process dies before its links are stored.
    await engine.handleWrite(writes[0].body);
    await engine.handleWrite(writes[1].body);
    const putLink = state.putLink.bind(state);
    const putLinks = state.putLinks.bind(state);
    state.putLink = async () => { throw new Error("process killed"); };
    state.putLinks = async () => { throw new Error("process killed"); };
    const third = await engine.handleWrite(writes[2].body);
    state.putLink = putLink;
    state.putLinks = putLinks;
    expect(third.retries).toHaveLength(10);
    const landedWithoutLinks = writes[2].body.ops.map((op) => op.appId!);
    expect(landedWithoutLinks.every((id) => contactsByMentorId(h).get(id) === 1)).toBe(true);
    // The rest of the queued writes (2 Dataverse chunks, the app creates) die with the process.

    // Act: a new process runs an ordinary cycle on the same state.
    const restarted = restartedServices(h.services);
    const { summary } = await runCycle(restarted, { full: false, dryRun: false });

    // Assess
    expect(summary.status).toBe("succeeded");
    const mentors = summary.mappings.find((m) => m.name === "mentors")!;
    expect(mentors.notes.join("\n")).toMatch(/did not finish/);
    expectConverged(h);
    for (const id of added) expect(contactsByMentorId(h).get(id)).toBe(1);
    const byDv = appMentorsByDataverseId(h);
    for (const id of DATAVERSE_ONLY) expect(byDv.get(id)).toBe(1);
    // The killed run is marked as such, and a further cycle has nothing left to do.
    const killed = await state.getRun(runId);
    expect(killed).toMatchObject({ status: "failed" });
    expect(killed!.error).toMatch(/did not finish/);
    const again = await runCycle(restarted, { full: false, dryRun: false });
    expect(again.summary.totals.written).toBe(0);
  });

  it("retries an app create whose answer was lost without creating the record twice", async () => {
    // Prepare: every attempt of the first cycle's app creates is handled, then the connection drops,
    // more often than the HTTP client retries, so the engine re-enqueues the write message.
    const clock = skippingClock();
    h = await startSyncHarness({ clock });
    h.stack.app.failNext({ method: "POST", path: "/sync/mentor", afterHandling: true, dropConnection: true, count: 12 });

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("succeeded");
    const posts = h.stack.app.requests.filter((r) => r.method === "POST" && r.path === "/sync/mentor");
    expect(posts.filter((r) => r.status === -1)).toHaveLength(12);
    expect(posts.length).toBeGreaterThan(12);
    // The engine re-enqueued the write after the HTTP client's own attempts ran out, with a back-off.
    expect(clock.slept.some((ms) => ms >= 1000)).toBe(true);
    const byDv = appMentorsByDataverseId(h);
    for (const id of DATAVERSE_ONLY) expect(byDv.get(id)).toBe(1);
    expectConverged(h);
    expect((await h.cycle()).totals.written).toBe(0);
  });

  for (const fault of [
    { name: "was reset before it ran", rule: { reset: true } },
    { name: "ran but lost its answer", rule: { lostAnswer: true } },
  ]) {
    it(`resends a Dataverse bulk create whose connection ${fault.name} as upserts by id, creating each contact once`, async () => {
      // Prepare
      h = await startSyncHarness();
      const added = addMentors(h, 20);
      h.stack.dataverse.faults.add({ method: "POST", path: "contacts/Microsoft.Dynamics.CRM.CreateMultiple", ...fault.rule });

      // Act
      const summary = await h.cycle();

      // Assess
      expect(summary.status).toBe("succeeded");
      // (The seed's two Dataverse-born contacts get their app ids back in an UpdateMultiple of their own.)
      const bulk = h.stack.dataverse.log.entries().filter((e) => /contacts\/Microsoft\.Dynamics\.CRM\.(Create|Upsert)Multiple$/.test(e.path));
      expect(bulk.map((e) => [e.path.split(".").pop(), e.status])).toEqual([["CreateMultiple", 0], ["UpsertMultiple", 204]]);
      for (const id of added) expect(contactsByMentorId(h).get(id)).toBe(1);
      expectConverged(h);
    });
  }
});
