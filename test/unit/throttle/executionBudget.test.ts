import { describe, expect, it } from "vitest";
import type { Clock } from "../../../shared/ports.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget, budgetKey } from "../../../shared/throttle/throttleBudget.js";

/** A clock whose sleep moves time forward at once, so waits are observable without real time passing. */
function steppingClock(start = 1_000_000): Clock {
  let now = start;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

const bulk = { kind: "bulk", records: 100 } as const;

/**
 * A budget whose clock stands still and whose sleeps end only when woken (time given back), with a
 * cold guess of the window's whole execution time.
 */
function wokenOnlyBudget(): ThrottleBudget {
  const clock: Clock = {
    now: () => 1_000_000,
    sleep: (_ms, signal) => new Promise<void>((_resolve, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true })),
  };
  return new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client-1", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 300_000, coldEstimateMs: 4_000, clock });
}

/** Execution charged per window the way the service charges it: at admission, for what the request took. */
function busiestWindowMs(admitted: { at: number; costMs: number }[], windowMs: number): number {
  return Math.max(...admitted.map(({ at }) => admitted.filter((a) => a.at >= at && a.at < at + windowMs).reduce((s, a) => s + a.costMs, 0)));
}

describe("ThrottleBudget execution time", () => {
  it("never admits more execution time in a window than the limit across two budgets sharing a store", async () => {
    // Prepare: every bulk call really takes 1,000 ms; 4,000 ms per 10-s window.
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const make = () => new ThrottleBudget({ store, identity: "client-1", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 10_000, clock });
    const [a, b] = [make(), make()];
    const start = clock.now();
    const admitted: { at: number; costMs: number }[] = [];

    // Act
    for (let i = 0; i < 12; i++) {
      const reservation = await (i % 2 ? a : b).acquire(bulk);
      admitted.push({ at: clock.now(), costMs: 1_000 });
      await reservation.settle(1_000);
    }

    // Assess: the request count alone (1,000) would have let all 12 through at once.
    expect(busiestWindowMs(admitted, 10_000)).toBeLessThanOrEqual(4_000);
    expect(admitted.filter(({ at }) => at < start + 10_000)).toHaveLength(4);
    expect(admitted.at(-1)!.at).toBeGreaterThanOrEqual(start + 20_000);
  });

  it("charges a request that took longer than reserved, so the other budget waits for the debt", async () => {
    // Prepare: a cold estimate far below what the request then takes.
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const options = { store, identity: "client-1", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 10_000, coldEstimateMs: 100, clock };
    const [a, b] = [new ThrottleBudget(options), new ThrottleBudget(options)];
    const reservation = await a.acquire(bulk);
    const start = clock.now();

    // Act
    await reservation.settle(4_000);
    const { row } = await store.read(budgetKey("client-1"));
    await b.acquire(bulk);

    // Assess
    expect(row.grants.reduce((s, [, , ms]) => s + ms, 0)).toBe(4_000);
    expect(clock.now()).toBeGreaterThanOrEqual(start + 10_000);
  });

  it("gives back what a request did not use, so the other budget is admitted at once", async () => {
    // Prepare: the cold estimate reserves the whole window's time.
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const options = { store, identity: "client-1", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 10_000, coldEstimateMs: 4_000, clock };
    const [a, b] = [new ThrottleBudget(options), new ThrottleBudget(options)];
    const reservation = await a.acquire(bulk);
    const start = clock.now();

    // Act
    await reservation.settle(200);
    await b.acquire({ kind: "read" });

    // Assess
    expect(clock.now()).toBe(start);
  });

  it("learns the cost per record of a kind and converges on what requests take", async () => {
    // Prepare
    const clock = steppingClock();
    const budget = new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client-1", maxRequests: 100_000, maxExecutionMs: 1_000_000, windowMs: 60_000, coldEstimateMs: 5_000, clock });
    const cold = budget.estimate(bulk);

    // Act: the service first answers 100 records in 2 s, then slows down to 3 s.
    await (await budget.acquire(bulk)).settle(2_000);
    const afterFirst = budget.estimate(bulk);
    for (let i = 0; i < 15; i++) await (await budget.acquire(bulk)).settle(3_000);

    // Assess: per record, so half the records are half the time; other kinds are still unknown.
    expect(cold).toBe(5_000);
    expect(afterFirst).toBe(2_000);
    expect(Math.abs(budget.estimate(bulk) - 3_000)).toBeLessThan(30);
    expect(Math.abs(budget.estimate({ kind: "bulk", records: 50 }) - 1_500)).toBeLessThan(15);
    expect(budget.estimate({ kind: "read" })).toBe(5_000);
  });

  it("does not learn from attempts that did not run and gives their time back", async () => {
    // Prepare
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const budget = new ThrottleBudget({ store, identity: "client-1", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 10_000, coldEstimateMs: 4_000, clock });
    const start = clock.now();

    // Act: a 429 (nothing executed) settles at 0 without learning.
    await (await budget.acquire(bulk)).settle(0, { learn: false });
    await budget.acquire(bulk);

    // Assess
    expect(budget.estimate(bulk)).toBe(4_000);
    expect(clock.now()).toBe(start);
  });

  it("blocks every budget of the identity until a 429's Retry-After has passed, execution time metered or not", async () => {
    // Prepare
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const options = { store, identity: "client-1", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 10_000, coldEstimateMs: 10, clock };
    const [a, b] = [new ThrottleBudget(options), new ThrottleBudget(options)];
    await b.acquire(bulk);
    const blockedFrom = clock.now();

    // Act
    await a.penalize(5_000);
    await b.acquire(bulk);

    // Assess
    expect(clock.now()).toBe(blockedFrom + 5_000);
  });
});

describe("ThrottleBudget waiting for execution time", () => {
  it("wakes a waiting request as soon as this process gives time back, instead of sleeping out the window", async () => {
    // Prepare: sleeps only end when woken, so a window-long sleep would never finish.
    const budget = wokenOnlyBudget();
    const first = await budget.acquire(bulk);
    let admitted = false;
    const second = budget.acquire(bulk).then(() => (admitted = true));
    await new Promise((r) => setTimeout(r, 0));
    const waitedBefore = admitted;

    // Act
    await first.settle(100);
    await second;

    // Assess
    expect(waitedBefore).toBe(false);
    expect(admitted).toBe(true);
  });
});

describe("ThrottleBudget estimates", () => {
  it("prices a request that waited for the window by what the answers that came in meanwhile showed, not by the cold guess it arrived with", async () => {
    // Prepare: sleeps only end when woken; the cold guess takes the whole window.
    const budget = wokenOnlyBudget();
    const first = await budget.acquire(bulk);
    const second = budget.acquire(bulk);
    await new Promise((r) => setTimeout(r, 0));

    // Act: the first bulk call of its kind is answered after 100 ms: 1 ms a record.
    await first.settle(100);
    const reservation = await second;

    // Assess: before, the waiting request kept the 4,000 ms it was priced at on arrival.
    expect(first.estimateMs).toBe(4_000);
    expect(reservation.estimateMs).toBe(100);
  });
});

describe("ThrottleBudget wakeups", () => {
  it("does not sleep out a window that time given back meanwhile has freed (the give-back lands between its read and its wait)", async () => {
    // Prepare: a cold estimate that takes the whole window, and a store that lets the first
    // request's give-back land right after the second request has read the full row.
    const clock = steppingClock();
    const inner = new MemoryBudgetStore();
    let first: { settle(ms: number): Promise<void> } | undefined;
    const store: typeof inner = Object.assign(Object.create(inner) as typeof inner, {
      read: async (key: string) => {
        const snapshot = await inner.read(key);
        const settling = first;
        first = undefined;
        if (settling) await settling.settle(10);
        return snapshot;
      },
    });
    const budget = new ThrottleBudget({ store, identity: "client-1", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 10_000, coldEstimateMs: 4_000, clock });
    const r1 = await budget.acquire(bulk);
    const start = clock.now();

    // Act
    first = r1;
    await budget.acquire(bulk);

    // Assess: admitted on the time given back, not after the window (10 s) went by.
    expect(clock.now() - start).toBeLessThan(10_000);
  });
});
