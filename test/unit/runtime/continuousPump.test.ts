import { describe, expect, it } from "vitest";
import { ContinuousPump, pumpOnce, type PumpQueue } from "../../../shared/runtime/queuePump.js";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";

/** A queue of `n` messages whose handler finishes each message only when the test says so. */
async function gatedQueue(n: number) {
  const queue = new MemoryWorkQueue<number>("work-items", { now: () => Date.now() });
  for (let i = 0; i < n; i++) await queue.send(i);
  const started: number[] = [];
  const gates = new Map<number, () => void>();
  const pump: PumpQueue = {
    queue: queue as MemoryWorkQueue<unknown>,
    handler: (body) => new Promise<void>((resolve) => {
      started.push(body as number);
      gates.set(body as number, resolve);
    }),
  };
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setImmediate(r));
  };
  return { queue, pump, started, gates, until };
}

const noPoison = async () => {
  throw new Error("nothing should be poisoned");
};

describe("ContinuousPump", () => {
  it("starts the next message as soon as one finishes, without waiting for the rest of its batch", async () => {
    // Prepare
    const { queue, pump, started, gates, until } = await gatedQueue(6);
    const continuous = new ContinuousPump([pump], noPoison, 3);

    // Act: three in flight; finish only the first.
    continuous.kick();
    await until(() => started.length === 3);
    gates.get(started[0])!();
    await until(() => started.length === 4);

    // Assess: the fourth started while two of the first three are still running.
    expect(continuous.busy()).toBe(3);
    for (let i = 0; i < 6; i++) {
      await until(() => gates.has(i));
      gates.get(i)!();
    }
    await continuous.idle();
    expect(started.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await queue.approximateCount()).toBe(0);
  });

  it("is what a batch barrier is not: pumpOnce starts nothing new until its whole batch is done", async () => {
    // Prepare
    const { pump, started, gates, until } = await gatedQueue(12);

    // Act
    const batch = pumpOnce([pump], noPoison);
    await until(() => started.length === 8);
    gates.get(started[0])!();
    for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));

    // Assess: the barrier holds the ninth message back although a lane is free.
    expect(started.length).toBe(8);
    for (const i of started) gates.get(i)!();
    await batch;
  });

  it("reports a failing poison handler from idle() instead of losing it", async () => {
    // Prepare: a message already delivered five times fails once more and must go to poison.
    const queue = new MemoryWorkQueue<string>("failing-items", { now: () => Date.now() });
    await queue.send("x");
    for (let i = 0; i < 4; i++) {
      const [m] = await queue.receive(1, 0);
      await queue.abandon(m, 0);
    }
    const pump = new ContinuousPump([{ queue: queue as MemoryWorkQueue<unknown>, handler: async () => { throw new Error("handler broke"); } }], async () => {
      throw new Error("poison store unavailable");
    });

    // Act
    pump.kick();

    // Assess
    await expect(pump.idle()).rejects.toThrow("poison store unavailable");
  });

  it("keeps a message leased while its handler runs, so a second lane never handles it too", async () => {
    // Prepare: queue time is the test's; the lease is 1 s of it, renewed every 5 real ms.
    let now = 0;
    const queue = new MemoryWorkQueue<string>("long-items", { now: () => now });
    await queue.send("plan the whole load");
    const started: string[] = [];
    let release!: () => void;
    let renewals = 0;
    const extend = queue.extend.bind(queue);
    queue.extend = async (m, ms) => (renewals++, extend(m, ms));
    const pump = new ContinuousPump([{ queue: queue as MemoryWorkQueue<unknown>, handler: (b) => new Promise<void>((r) => ((release = r), started.push(b as string))) }], noPoison, 2, { ms: 1_000, renewEveryMs: 5 });
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setImmediate(r));
    };

    // Act: the handler outlives its first lease; free lanes look for work after it expired.
    pump.kick();
    await until(() => started.length === 1);
    now = 900;
    const seen = renewals;
    await until(() => renewals > seen);
    now = 1_500;
    pump.kick();
    for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));

    // Assess
    expect(started).toEqual(["plan the whole load"]);
    release();
    await pump.idle();
    expect(await queue.approximateCount()).toBe(0);
  });
  it("a poll takes up a burst: its lane starts another for each message it finds, up to the width", async () => {
    // Prepare
    const { pump, started, gates, until } = await gatedQueue(12);
    const continuous = new ContinuousPump([pump], noPoison, 4);

    // Act: one poll, one lane to begin with.
    continuous.poll(50, 500);
    await until(() => started.length === 4);
    for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));

    // Assess: four in flight (the width), none beyond it, and the rest follow as they finish.
    expect(continuous.busy()).toBe(4);
    expect(started).toHaveLength(4);
    for (let i = 0; i < 12; i++) {
      await until(() => gates.has(i));
      gates.get(i)!();
    }
    await continuous.idle();
    expect(started).toHaveLength(12);
  });

  it("a queue a poll found empty is not received from again until its back-off has passed", async () => {
    // Prepare
    const queue = new MemoryWorkQueue<number>("idle-items", { now: () => Date.now() });
    let receives = 0;
    const receive = queue.receive.bind(queue);
    queue.receive = async (max, ms) => (receives++, receive(max, ms));
    const continuous = new ContinuousPump([{ queue: queue as MemoryWorkQueue<unknown>, handler: async () => {} }], noPoison, 4);

    // Act: an empty poll, then polls at once after it.
    continuous.poll(50, 60_000);
    await continuous.idle();
    for (let i = 0; i < 5; i++) continuous.poll(50, 60_000);
    await continuous.idle();

    // Assess
    expect(receives).toBe(1);
  });

  it("halted, a pump takes no more messages and lets the ones in flight finish", async () => {
    // Prepare
    const { queue, pump, started, gates, until } = await gatedQueue(5);
    const continuous = new ContinuousPump([pump], noPoison, 2);
    continuous.kick();
    await until(() => started.length === 2);

    // Act
    continuous.halt();
    for (const i of started) gates.get(i)!();
    await continuous.idle();
    continuous.kick();

    // Assess
    expect(started).toHaveLength(2);
    expect(await queue.approximateCount()).toBe(3);
  });
});
