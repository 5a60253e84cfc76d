import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ContinuousPump, HOST_QUEUE_CONCURRENCY, HostQueueSettings, type PumpQueue } from "../../../shared/runtime/queuePump.js";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";

const noPoison = async () => {
  throw new Error("nothing should be poisoned");
};

const settle = async () => {
  for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));
};

describe("the local pump's width mirrors the Functions host", () => {
  it("host.json's batchSize and newBatchThreshold are the pump's settings: the host runs up to their sum per queue", () => {
    // Prepare
    const queues = JSON.parse(readFileSync("host.json", "utf8")).extensions.queues;
    // Assess
    expect(HostQueueSettings.batchSize).toBe(queues.batchSize);
    expect(HostQueueSettings.newBatchThreshold).toBe(queues.newBatchThreshold);
    expect(HOST_QUEUE_CONCURRENCY).toBe(queues.batchSize + queues.newBatchThreshold);
  });

  it("by default keeps batchSize + newBatchThreshold messages of a queue in flight, and no more", async () => {
    // Prepare: more messages than the host would run at once, each held until released.
    const queue = new MemoryWorkQueue<number>("wide-items", { now: () => Date.now() });
    for (let i = 0; i < 20; i++) await queue.send(i);
    const release: Array<() => void> = [];
    const pump: PumpQueue = { queue: queue as MemoryWorkQueue<unknown>, handler: () => new Promise<void>((r) => void release.push(r)) };
    const continuous = new ContinuousPump([pump], noPoison);

    // Act
    continuous.kick();
    await settle();

    // Assess: 12 with host.json, where the pump used to stop at batchSize (8).
    expect(release).toHaveLength(HostQueueSettings.batchSize + HostQueueSettings.newBatchThreshold);
    expect(continuous.busy()).toBe(12);
    while (release.length) {
      release.shift()!();
      await settle();
    }
    await continuous.idle();
    expect(await queue.approximateCount()).toBe(0);
  });
});
