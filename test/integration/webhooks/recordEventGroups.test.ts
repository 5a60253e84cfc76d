import { afterEach, describe, expect, it } from "vitest";
import type { WorkQueue } from "../../../shared/ports.js";
import { ErrorCodes } from "../../../shared/errors.js";
import { recordPoisonMessage } from "../../../shared/runtime/poison.js";
import { HostQueueSettings } from "../../../shared/runtime/queuePump.js";
import { EventLease } from "../../../shared/runtime/recordEventBatch.js";
import { setServices } from "../../../shared/runtime/services.js";
import { groupCommitted } from "../../../shared/state/groupCommitQueue.js";
import { noticeBody, noticesOf, type RecordEventBody } from "../../../shared/state/noticeGroups.js";
import { mentorId } from "../../bench/benchData.js";
import { offsetClock } from "../../support/offsetClock.js";
import { deliver, editedMentors, stopEdited, withoutAppVersion, writesPerMentor } from "./recordEventFixtures.js";

afterEach(stopEdited);

const clock = offsetClock();
type EventQueue = WorkQueue<RecordEventBody> & { poison(): WorkQueue<RecordEventBody> };

/** `n` edited mentors, the record-events queue with group commit as the Functions app has it, and the services the worker finds. */
async function groupedEdits(n: number) {
  const edited = await editedMentors(n, clock);
  const raw = edited.h.services.queues.recordEvents as unknown as EventQueue;
  edited.h.services.queues.recordEvents = groupCommitted(raw);
  setServices(edited.h.services);
  return { ...edited, raw };
}

/** Delivers until the queue is empty, letting leases and retry delays pass on the clock; the handlings done. */
async function drain(queue: WorkQueue<RecordEventBody>, bound = 20): Promise<number> {
  let handled = 0;
  for (let i = 0; i < bound; i++) {
    if ((await deliver(queue)).trigger) handled++;
    else if (await queue.approximateCount()) clock.advance(HostQueueSettings.visibilityTimeoutMs + 1_000);
    else return handled;
  }
  throw new Error(`the queue was not empty after ${bound} rounds`);
}

describe("record events that arrived together share one message", () => {
  it("a process that dies after the group's send, before its 202s: nothing is lost, and Dataverse's second delivery writes nothing twice", async () => {
    const { h, events, raw, valueOf } = await groupedEdits(10);
    const writes = h.stack.app.requests.length;
    // The send stores the message, then the process dies: no caller hears back.
    const send = raw.send.bind(raw);
    raw.send = async (body, options) => {
      await send(body, options);
      await new Promise<never>(() => {});
    };
    const answered: string[] = [];
    for (const ev of events) void h.services.queues.recordEvents.send(ev).then(() => answered.push(ev.id));
    await new Promise<void>((resolve) => setImmediate(resolve));

    expect(answered).toEqual([]);
    expect(await raw.approximateCount()).toBe(1);
    // Dataverse had no 202 and delivers each again, to a new process.
    raw.send = send;
    const fresh = groupCommitted(raw);
    await Promise.all(events.map((ev) => fresh.send(ev)));
    await drain(raw);

    expect([...writesPerMentor(h, writes).values()]).toEqual(Array(10).fill(1));
    for (let i = 0; i < 10; i++) expect(h.stack.app.get("mentor", mentorId(i))?.data?.firstName).toBe(valueOf(i));
    expect(await raw.approximateCount()).toBe(0);
    expect(await raw.poison().approximateCount()).toBe(0);
  }, 60_000);

  it("a process that dies after writing some notices of a group: the whole message comes back, the rest is written, nothing twice", async () => {
    const { h, events, raw, valueOf } = await groupedEdits(10);
    const writes = h.stack.app.requests.length;
    await raw.send(noticeBody(events));
    // Mentors 5-9 cannot be written yet (their app records cannot be read), and the process dies at
    // its next queue call: before re-enqueuing them and before completing the message.
    for (let i = 5; i < 10; i++) {
      await withoutAppVersion(h, i);
      h.stack.app.failNext({ method: "GET", path: `/sync/mentor/${mentorId(i)}`, status: 500, count: 1_000 });
    }
    const { send, complete } = raw;
    raw.send = raw.complete = async () => {
      throw new Error("the worker process died");
    };

    const first = await deliver(raw);

    expect(first.error).toBeDefined();
    expect([...writesPerMentor(h, writes).keys()].sort()).toEqual([0, 1, 2, 3, 4].map(mentorId));
    Object.assign(raw, { send, complete });
    h.stack.app.clearFaults();
    clock.advance(EventLease.ms + 1_000);
    expect(await drain(raw)).toBe(1);

    expect([...writesPerMentor(h, writes).values()]).toEqual(Array(10).fill(1));
    for (let i = 0; i < 10; i++) expect(h.stack.app.get("mentor", mentorId(i))?.data?.firstName).toBe(valueOf(i));
    expect(await raw.poison().approximateCount()).toBe(0);
    expect(await h.services.state.listDeadLetters({ mapping: "mentors", limit: 100 })).toEqual([]);
  }, 60_000);

  it("a notice that keeps failing in a group: the others are written and completed, it alone comes back and reaches poison after maxDequeueCount deliveries in all", async () => {
    const { h, events, raw } = await groupedEdits(3);
    const writes = h.stack.app.requests.length;
    await raw.send(noticeBody(events));
    await withoutAppVersion(h, 1);
    h.stack.app.failNext({ method: "GET", path: `/sync/mentor/${mentorId(1)}`, status: 500, count: 1_000 });
    const sent: { body: RecordEventBody; delayMs?: number; queued: number }[] = [];
    const send = raw.send.bind(raw);
    raw.send = async (body, options) => {
      await send(body, options);
      sent.push({ body, delayMs: options?.delayMs, queued: await raw.approximateCount() });
    };

    const first = await deliver(raw);

    expect(first.error).toBeUndefined();
    expect([...writesPerMentor(h, writes).keys()].sort()).toEqual([mentorId(0), mentorId(2)]);
    // The failed notice alone, sent again while the group was still held (before it was completed), with its delivery counted.
    expect(sent).toEqual([{ body: { notices: [events[1]], deliveries: 1 }, delayMs: HostQueueSettings.visibilityTimeoutMs, queued: 2 }]);
    expect(await raw.approximateCount()).toBe(1);

    // Four more handlings of it (five in all), then the poison queue, as the host moves a trigger it gave up on.
    expect(await drain(raw)).toBe(HostQueueSettings.maxDequeueCount - 1);
    const [poisoned] = await raw.poison().receive(1, 30_000);
    expect(noticesOf(poisoned.body)).toEqual([events[1]]);
    expect([...writesPerMentor(h, writes).values()]).toEqual([1, 1]);
  }, 60_000);

  it("a group the host moved to the poison queue becomes a dead letter per notice", async () => {
    const { h, events } = await groupedEdits(2);

    await recordPoisonMessage(h.services, "record-events-poison", noticeBody(events), "handler crashed");

    const letters = await h.services.state.listDeadLetters({ mapping: "mentors", limit: 10 });
    expect(letters.map((d) => [d.recordId, d.direction, d.code]).sort()).toEqual(events.map((ev) => [ev.id, "toApp", ErrorCodes.AttemptsExhausted]).sort());
  }, 60_000);
});
