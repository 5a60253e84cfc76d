import functions from "@azure/functions";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import type { QueueMessage } from "../../../shared/ports.js";
import { recordPoisonMessage } from "../../../shared/runtime/poison.js";
import { drainMemoryQueues } from "../../../shared/runtime/queuePump.js";
import { setServices } from "../../../shared/runtime/services.js";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";
import { writeOpsOf, type RunMessage, type WriteMessage } from "../../../shared/sync/writeOps.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

process.env.D365_SYNC_LOCAL_RUNNER = "1";
const { poisonWatcher } = await import("../../../functions/poisonWatcher.js");
const { InvocationContext } = functions;

const context = () => new InvocationContext({ functionName: "poisonWatcher-test", triggerMetadata: { dequeueCount: 1 }, logHandler: () => undefined });
const storageDown = () => new SyncError("transient", ErrorCodes.ServerBusy, "put dead letter m-0001 failed: 503 ServerBusy");

let h: SyncHarness | undefined;
afterEach(async () => {
  setServices(undefined);
  await h?.stop();
  h = undefined;
});

/** Takes the one message waiting on a queue, as the host does before it moves a message to `-poison`. */
async function takeOne<T>(queue: { receive(max: number, visibilityMs: number): Promise<QueueMessage<T>[]>; complete(m: QueueMessage<T>): Promise<void> }): Promise<T> {
  const [message] = await queue.receive(1, 60_000);
  expect(message).toBeDefined();
  await queue.complete(message);
  return message.body;
}

/** A mentors run planned and handed off (status `writing`), its write messages still on the queues. */
async function plannedRun(harness: SyncHarness): Promise<string> {
  const s = harness.services;
  expect((await harness.cycle({ mapping: "groups" })).status).toBe("succeeded"); // the mentors' lookup targets
  const [run] = await s.engine.startRuns({ mapping: "mentors", mode: "delta", dryRun: false, trigger: "manual" });
  await s.engine.handleRun(await takeOne<RunMessage>(s.queues.runs));
  expect(await s.state.getRun(run.runId)).toMatchObject({ status: "writing", planned: 7, processed: 0 });
  return run.runId;
}

describe("the poison path loses nothing", () => {
  it("throws when the dead letters cannot be stored, so the host keeps the message; the next delivery stores them", async () => {
    h = await startSyncHarness();
    setServices(h.services);
    const s = h.services;
    const msg: WriteMessage = {
      runId: "00000000-0000-4000-8000-000000000001", mapping: "mentors", direction: "toDataverse",
      ops: [{ kind: "update", appId: "m-0001", dataverseId: "c0a80001-0000-4000-8000-000000000001", values: { score: 1 }, base: { score: 1 }, attempt: 4 }],
    };
    const putDeadLetter = s.state.putDeadLetter;
    s.state.putDeadLetter = async () => { throw storageDown(); };

    await expect(poisonWatcher("dataverse-writes-poison")(JSON.stringify(msg), context())).rejects.toThrow("503 ServerBusy");
    await expect(recordPoisonMessage(s, "dataverse-writes-poison", msg, "handler crashed")).rejects.toThrow("503 ServerBusy");

    s.state.putDeadLetter = putDeadLetter;
    await poisonWatcher("dataverse-writes-poison")(JSON.stringify(msg), context());
    expect((await s.state.listDeadLetters({ mapping: "mentors" })).map((d) => [d.recordId, d.code])).toEqual([["m-0001", ErrorCodes.AttemptsExhausted]]);
  });

  it("on the last delivery, sends a message it cannot record back to its poison queue instead of letting it go to -poison-poison", async () => {
    h = await startSyncHarness();
    setServices(h.services);
    const s = h.services;
    const poison = new MemoryWorkQueue<unknown>("dataverse-writes-poison", s.clock);
    Object.assign(s.queues.dataverseWrites, { poison: () => poison });
    const msg: WriteMessage = {
      runId: "00000000-0000-4000-8000-000000000001", mapping: "mentors", direction: "toDataverse",
      ops: [{ kind: "update", appId: "m-0001", dataverseId: "c0a80001-0000-4000-8000-000000000001", values: { score: 1 }, base: { score: 1 }, attempt: 4 }],
    };
    s.state.putDeadLetter = async () => { throw storageDown(); };
    const last = new InvocationContext({ functionName: "poisonWatcher-test", triggerMetadata: { dequeueCount: 5 }, logHandler: () => undefined });

    await poisonWatcher("dataverse-writes-poison")(JSON.stringify(msg), last);

    expect(await poison.approximateCount()).toBe(1);
  });

  it("keeps a poisoned record event too when its dead letter cannot be stored", async () => {
    h = await startSyncHarness();
    setServices(h.services);
    h.services.state.putDeadLetter = async () => { throw storageDown(); };
    const event = { mapping: "mentors", side: "app", id: "m-0001", receivedAt: "2026-01-01T00:00:00.000Z" };

    await expect(poisonWatcher("record-events-poison")(JSON.stringify(event), context())).rejects.toThrow("503 ServerBusy");
  });

  it("settles the run of a poisoned write message once, even when the poison handler runs twice", async () => {
    h = await startSyncHarness();
    setServices(h.services);
    const s = h.services;
    const runId = await plannedRun(h);
    // The app-side creates are the message the host gives up on; the Dataverse writes go through.
    const poisoned = await takeOne<WriteMessage>(s.queues.appWrites);
    const ops = writeOpsOf(poisoned);
    expect(ops).toHaveLength(2);
    await drainMemoryQueues(s, async (queue) => { throw new Error(`unexpected poison on ${queue}`); });
    expect(await s.state.getRun(runId)).toMatchObject({ status: "writing", processed: 5 });

    await poisonWatcher("app-writes-poison")(JSON.stringify(poisoned), context());
    await poisonWatcher("app-writes-poison")(JSON.stringify(poisoned), context());

    const run = await s.state.getRun(runId);
    expect(run).toMatchObject({ status: "completed_with_failures", planned: 7, processed: 7, toApp: { failed: 2 }, toDataverse: { created: 5, failed: 0 } });
    expect(run!.finishedAt).toEqual(expect.any(String));
    expect(run!.notes.filter((n) => n.includes("poison"))).toHaveLength(1);
    expect(await s.state.getHealth("mentors", "toApp")).toMatchObject({ lastRunId: runId, lastRunStatus: "completed_with_failures" });
    const letters = await s.state.listDeadLetters({ mapping: "mentors" });
    expect(letters.map((d) => [d.direction, d.code, d.attempts])).toEqual([["toApp", ErrorCodes.AttemptsExhausted, 1], ["toApp", ErrorCodes.AttemptsExhausted, 1]]);
    expect(h.telemetry.events.filter((e) => e.name === "SyncRunCompleted" && e.properties.runId === runId)).toHaveLength(1);
  });

  it("counts a poisoned write once even when two poison handlers race for it", async () => {
    h = await startSyncHarness();
    const s = h.services;
    const runId = await plannedRun(h);
    const poisoned = await takeOne<WriteMessage>(s.queues.appWrites);
    await drainMemoryQueues(s, async (queue) => { throw new Error(`unexpected poison on ${queue}`); });

    await Promise.all([recordPoisonMessage(s, "app-writes-poison", poisoned, "crashed"), recordPoisonMessage(s, "app-writes-poison", poisoned, "crashed")]);

    expect(await s.state.getRun(runId)).toMatchObject({ status: "completed_with_failures", processed: 7, toApp: { failed: 2 } });
  });
});
