import { describe, expect, it } from "vitest";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";

function manualClock(start = Date.UTC(2025, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

describe("MemoryWorkQueue timing", () => {
  it("makes a delayed message visible exactly when the clock reaches its due time", async () => {
    const clock = manualClock();
    const queue = new MemoryWorkQueue<{ n: number }>("writes", clock);
    await queue.send({ n: 1 }, { delayMs: 5_000 });

    clock.advance(4_999);
    const early = await queue.receive(1, 30_000);
    clock.advance(1);
    const due = await queue.receive(1, 30_000);

    expect(early).toEqual([]);
    expect(due.map((m) => m.body)).toEqual([{ n: 1 }]);
  });

  it("rounds delays up to whole seconds like Storage Queues", async () => {
    const clock = manualClock();
    const queue = new MemoryWorkQueue("writes", clock);
    await queue.send({}, { delayMs: 1_500 });

    expect(queue.nextVisibleAt()).toBe(clock.now() + 2_000);
  });

  it("redelivers a message whose lease ran out, with a higher dequeue count and a new pop receipt", async () => {
    const clock = manualClock();
    const queue = new MemoryWorkQueue("writes", clock);
    await queue.send({ a: 1 });
    const [first] = await queue.receive(1, 10_000);

    clock.advance(10_000);
    const [second] = await queue.receive(1, 10_000);

    expect(second.id).toBe(first.id);
    expect(second.dequeueCount).toBe(2);
    await expect(queue.complete(first)).rejects.toMatchObject({ code: "CONCURRENCY" });
    await queue.complete(second);
    expect(await queue.approximateCount()).toBe(0);
  });

  it("reports when the next message is due, so a runner can wait exactly that long", async () => {
    const clock = manualClock();
    const queue = new MemoryWorkQueue("writes", clock);
    expect(queue.nextVisibleAt()).toBeUndefined();

    await queue.send({ a: 1 }, { delayMs: 60_000 });
    await queue.send({ a: 2 }, { delayMs: 5_000 });

    expect(queue.nextVisibleAt()).toBe(clock.now() + 5_000);
  });

  it("moves an abandoned message's due time by the abandon delay", async () => {
    const clock = manualClock();
    const queue = new MemoryWorkQueue("writes", clock);
    await queue.send({ a: 1 });
    const [message] = await queue.receive(1, 30_000);

    await queue.abandon(message, 120_000);

    expect(queue.nextVisibleAt()).toBe(clock.now() + 120_000);
  });

  it("caps a delay at 7 days", async () => {
    const clock = manualClock();
    const queue = new MemoryWorkQueue("writes", clock);

    await queue.send({}, { delayMs: 30 * 86_400_000 });

    expect(queue.nextVisibleAt()).toBe(clock.now() + 7 * 86_400_000);
  });

  it("delivers in the order sent", async () => {
    const queue = new MemoryWorkQueue<number>("writes", manualClock());
    for (const n of [3, 1, 2]) await queue.send(n);

    expect((await queue.receive(32, 1_000)).map((m) => m.body)).toEqual([3, 1, 2]);
  });

  it("shares the clock with its poison queue and returns the same poison queue each time", async () => {
    const clock = manualClock();
    const queue = new MemoryWorkQueue("writes", clock);
    await queue.poison().send({ dead: true }, { delayMs: 1_000 });

    expect(queue.poison()).toBe(queue.poison());
    expect(queue.poison().nextVisibleAt()).toBe(clock.now() + 1_000);
  });
});
