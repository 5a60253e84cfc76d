import functions from "@azure/functions";
import { afterEach, describe, expect, it } from "vitest";
import { recordEventWorker } from "../../../functions/queueWorkers.js";
import type { QueueMessage, WorkQueue } from "../../../shared/ports.js";
import { EventLease } from "../../../shared/runtime/recordEventBatch.js";
import { setServices } from "../../../shared/runtime/services.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { GROUPS, groupId, mentorId, mentorRecord } from "../../bench/benchData.js";
import { offsetClock } from "../../support/offsetClock.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

const { InvocationContext } = functions;

let h: SyncHarness | undefined;
afterEach(async () => {
  setServices(undefined);
  await h?.stop();
  h = undefined;
});

const clock = offsetClock();

/** `n` mentors synced once (each linked to its contact), then edited in Dataverse by a person. */
async function editedMentors(n: number): Promise<{ h: SyncHarness; events: RecordEventMessage[]; valueOf: (i: number) => string }> {
  h = await startSyncHarness({ seed: false, clock });
  for (let g = 0; g < GROUPS; g++) h.stack.app.put("group", groupId(g), { name: `Group ${g}`, region: `Region ${g % 4}` });
  for (let i = 0; i < n; i++) h.stack.app.put("mentor", mentorRecord(i).id, mentorRecord(i).data);
  expect((await h.cycle()).status).toBe("succeeded");
  const contactOf = new Map(h.stack.dataverse.rows("contact").map((r) => [String(r.hlf_mentorid), String(r.contactid)]));
  const valueOf = (i: number) => `Edited${i}`;
  const events: RecordEventMessage[] = [];
  for (let i = 0; i < n; i++) {
    const id = contactOf.get(mentorId(i))!;
    h.stack.dataverse.ctx.ops.update("contact", id, { firstname: valueOf(i) }, h.stack.person.userId);
    events.push({ mapping: "mentors", side: "dataverse", id, message: "Update", receivedAt: new Date(clock.now()).toISOString() });
  }
  return { h, events, valueOf };
}

/** The same, with a notice of each edit on the record-events queue and the services the worker finds. */
async function queuedEdits(n: number) {
  const edited = await editedMentors(n);
  setServices(edited.h.services);
  const queue = edited.h.services.queues.recordEvents;
  for (const ev of edited.events) await queue.send(ev);
  return { ...edited, queue };
}

const contactReads = (h: SyncHarness, since: number) =>
  h.stack.dataverse.log.entries().slice(since).filter((e) => e.method === "GET" && e.path.includes("contacts"));

/** The app writes of each mentor since `since`, by mentor id. */
function writesPerMentor(h: SyncHarness, since: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of h.appWrites(since)) {
    const id = /^\/sync\/mentor\/([^/?]+)/.exec(w.path)?.[1];
    if (id) out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/** Mentor `i`'s link without the app version (as links stored before it was kept): a notice of it reads the app record. */
async function withoutAppVersion(h: SyncHarness, i: number): Promise<void> {
  const link = (await h.services.state.getLinkByApp("mentors", mentorId(i)))!;
  await h.services.state.putLink({ ...link, appVersion: undefined });
}

const context = () => new InvocationContext({ functionName: "recordEventWorker" });

/** What the host does: the trigger message first, the handler, then the trigger completed (or left on a throw). */
async function deliver(queue: WorkQueue<RecordEventMessage>): Promise<{ trigger?: QueueMessage<RecordEventMessage>; error?: unknown }> {
  const [trigger] = await queue.receive(1, 30_000);
  if (!trigger) return {};
  try {
    await recordEventWorker(trigger.body, context());
    await queue.complete(trigger);
    return { trigger };
  } catch (error) {
    return { trigger, error };
  }
}

describe("record events handled together", () => {
  it("reads the rows of N notices for distinct records in ceil(N/50) requests and writes each record once", async () => {
    const { h, events, valueOf } = await editedMentors(60);
    const reads = h.stack.dataverse.log.entries().length;
    const writes = h.stack.app.requests.length;

    const result = await h.services.engine.handleRecordEvents(events);

    expect(result.failed).toEqual([]);
    expect(contactReads(h, reads)).toHaveLength(Math.ceil(60 / 50));
    expect([...writesPerMentor(h, writes).values()]).toEqual(Array(60).fill(1));
    for (let i = 0; i < 60; i++) expect(h.stack.app.get("mentor", mentorId(i))?.data?.firstName).toBe(valueOf(i));
  }, 120_000);

  it("decides a record named by several notices in one batch once", async () => {
    const { h, events } = await editedMentors(3);
    const writes = h.stack.app.requests.length;

    const result = await h.services.engine.handleRecordEvents([...events, ...events, events[0]]);

    expect(result.failed).toEqual([]);
    // Not read at all: each is written once at its link's app version (refresh.ts appAsLastSynced).
    expect(h.stack.app.requests.slice(writes).filter((r) => r.method === "GET" && r.path.startsWith("/sync/mentor/"))).toHaveLength(0);
    expect([...writesPerMentor(h, writes).values()]).toEqual([1, 1, 1]);
  }, 60_000);

  it("a worker takes the other visible notices of its queue and completes each only after its record is written", async () => {
    const { h, queue } = await queuedEdits(40);
    const reads = h.stack.dataverse.log.entries().length;
    const writes = h.stack.app.requests.length;

    const { error } = await deliver(queue);

    expect(error).toBeUndefined();
    // The trigger and 31 others: one read of their rows, one write each; the 8 left wait on the queue.
    expect(contactReads(h, reads)).toHaveLength(1);
    expect(writesPerMentor(h, writes).size).toBe(32);
    expect(await queue.approximateCount()).toBe(8);
    while ((await deliver(queue)).trigger) { /* the rest */ }
    expect(await queue.approximateCount()).toBe(0);
    expect([...writesPerMentor(h, writes).values()]).toEqual(Array(40).fill(1));
  }, 120_000);

  it("a record whose read fails mid-batch is delivered again and written once; the rest of the batch is written and completed", async () => {
    const { h, events, valueOf, queue } = await queuedEdits(10);
    const writes = h.stack.app.requests.length;
    // Mentor 4's app record is read (its link has no app version to write at), and cannot be for now (every in-call retry fails too).
    await withoutAppVersion(h, 4);
    h.stack.app.failNext({ method: "GET", path: `/sync/mentor/${mentorId(4)}`, status: 500, count: 1_000 });

    const first = await deliver(queue);

    expect(first.error).toBeUndefined();
    expect(writesPerMentor(h, writes).size).toBe(9);
    expect(writesPerMentor(h, writes).has(mentorId(4))).toBe(false);
    // Its notice is back on the queue (invisible for the host's visibility timeout), the others are gone.
    expect(await queue.approximateCount()).toBe(1);
    h.stack.app.clearFaults();
    clock.advance(31_000);
    const again = await deliver(queue);

    expect(again.trigger?.body.id).toBe(events[4].id);
    expect(again.error).toBeUndefined();
    expect(await queue.approximateCount()).toBe(0);
    expect([...writesPerMentor(h, writes).values()]).toEqual(Array(10).fill(1));
    expect(h.stack.app.get("mentor", mentorId(4))?.data?.firstName).toBe(valueOf(4));
  }, 60_000);

  it("a worker that dies after writing, before completing its notices: they come back after the lease and nothing is written twice", async () => {
    const { h, queue } = await queuedEdits(10);
    const writes = h.stack.app.requests.length;
    // The process dies at its first completion: no message it took is deleted.
    const complete = queue.complete.bind(queue);
    queue.complete = async () => {
      throw new Error("the worker process died");
    };

    const first = await deliver(queue);

    expect(first.error).toBeDefined();
    expect(writesPerMentor(h, writes).size).toBe(10);
    queue.complete = complete;
    clock.advance(EventLease.ms + 1_000);
    while ((await deliver(queue)).trigger) { /* redelivered */ }

    expect(await queue.approximateCount()).toBe(0);
    // Every notice was handled again, and each re-read found its record written already.
    expect([...writesPerMentor(h, writes).values()]).toEqual(Array(10).fill(1));
    expect(await h.services.state.listDeadLetters({ mapping: "mentors", limit: 100 })).toEqual([]);
  }, 60_000);
  it("a notice taken besides the trigger that fails on its last allowed delivery goes to the poison queue, as the host's trigger would", async () => {
    const { h, events, queue } = await queuedEdits(2);
    await withoutAppVersion(h, 1);
    h.stack.app.failNext({ method: "GET", path: `/sync/mentor/${mentorId(1)}`, status: 500, count: 1_000 });
    // Four deliveries already failed for both notices (the host's maxDequeueCount is 5).
    for (let i = 0; i < 4; i++) for (const m of await queue.receive(2, 30_000)) await queue.abandon(m, 0);

    const { error } = await deliver(queue);

    expect(error).toBeUndefined();
    expect(await queue.approximateCount()).toBe(0);
    const [poisoned] = await (queue as unknown as { poison(): WorkQueue<RecordEventMessage> }).poison().receive(1, 30_000);
    expect(poisoned.body).toMatchObject({ mapping: "mentors", side: "dataverse", id: events[1].id });
    expect(h.stack.app.get("mentor", mentorId(0))?.data?.firstName).toBe("Edited0");
  }, 60_000);
});
