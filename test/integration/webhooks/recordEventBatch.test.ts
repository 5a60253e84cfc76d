import { afterEach, describe, expect, it } from "vitest";
import type { WorkQueue } from "../../../shared/ports.js";
import { EventLease } from "../../../shared/runtime/recordEventBatch.js";
import { setServices } from "../../../shared/runtime/services.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { mentorId } from "../../bench/benchData.js";
import { offsetClock } from "../../support/offsetClock.js";
import type { SyncHarness } from "../../support/syncHarness.js";
import { deliver, editedMentors, stopEdited, withoutAppVersion, writesPerMentor } from "./recordEventFixtures.js";

afterEach(stopEdited);

const clock = offsetClock();

/** The same, with a notice of each edit on the record-events queue and the services the worker finds. */
async function queuedEdits(n: number) {
  const edited = await editedMentors(n, clock);
  setServices(edited.h.services);
  const queue = edited.h.services.queues.recordEvents;
  for (const ev of edited.events) await queue.send(ev);
  return { ...edited, queue };
}

const contactReads = (h: SyncHarness, since: number) =>
  h.stack.dataverse.log.entries().slice(since).filter((e) => e.method === "GET" && e.path.includes("contacts"));

describe("record events handled together", () => {
  it("reads the rows of N notices for distinct records in ceil(N/50) requests and writes each record once", async () => {
    const { h, events, valueOf } = await editedMentors(60, clock);
    const reads = h.stack.dataverse.log.entries().length;
    const writes = h.stack.app.requests.length;

    const result = await h.services.engine.handleRecordEvents(events);

    expect(result.failed).toEqual([]);
    expect(contactReads(h, reads)).toHaveLength(Math.ceil(60 / 50));
    expect([...writesPerMentor(h, writes).values()]).toEqual(Array(60).fill(1));
    for (let i = 0; i < 60; i++) expect(h.stack.app.get("mentor", mentorId(i))?.data?.firstName).toBe(valueOf(i));
  }, 120_000);

  it("decides a record named by several notices in one batch once", async () => {
    const { h, events } = await editedMentors(3, clock);
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
