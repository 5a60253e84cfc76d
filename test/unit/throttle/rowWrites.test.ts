import { describe, expect, it } from "vitest";
import { MemoryBudgetStore, type BudgetRow, type BudgetSnapshot } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock } from "../http/fakes.js";

/** A store whose reads take a turn of the event loop (as a Table round trip does), counting writes. */
class CountingStore extends MemoryBudgetStore {
  writes = 0;
  override async read(identity: string): Promise<BudgetSnapshot> {
    await new Promise((r) => setImmediate(r));
    return super.read(identity);
  }
  override async write(identity: string, row: BudgetRow, etag: string | undefined): Promise<boolean> {
    this.writes += 1;
    return super.write(identity, row, etag);
  }
}

const bulk = { kind: "bulk", records: 250 } as const;

/** One server's 20 requests and 4,000 ms of execution per 1,000-ms window; a bulk call not yet seen reserves 500 ms. */
function budget(store: CountingStore, clock: FakeClock) {
  return new ThrottleBudget({ store, identity: "client", maxRequests: 20, maxExecutionMs: 4_000, coldEstimateMs: 500, windowMs: 1_000, clock, maxServers: 1 });
}

describe("ThrottleBudget: row writes of one process", () => {
  it("admits a burst of calls with one lease sized for all of them, not one row round trip per call", async () => {
    // Prepare
    const store = new CountingStore();
    const clock = new FakeClock();
    const b = budget(store, clock);

    // Act: six bulk calls ask at once (3,000 of the window's 4,000 ms).
    const reservations = await Promise.all(Array.from({ length: 6 }, () => b.acquire(bulk)));

    // Assess
    expect(reservations).toHaveLength(6);
    expect(store.writes).toBe(1);
    expect(b.stats()).toMatchObject({ granted: 6, conflicts: 0 });
  });

  it("still admits no more execution than the window holds when the burst asks for more", async () => {
    // Prepare: a clock whose sleeps do not end within the test (the window does not pass).
    const store = new CountingStore();
    const clock = new FakeClock();
    clock.sleep = (ms: number) => new Promise<void>(() => void clock.sleeps.push(ms));
    const b = budget(store, clock);

    // Act: twelve calls of 500 ms ask at once; the window holds 4,000 ms.
    const admitted: number[] = [];
    const asks = Array.from({ length: 12 }, (_, i) => b.acquire(bulk).then(() => void admitted.push(i)));
    for (let turn = 0; turn < 100; turn++) await new Promise((r) => setImmediate(r));

    // Assess: the service admits while the window is below its limit, so at most one call's estimate beyond it.
    expect(admitted.length).toBeGreaterThanOrEqual(8);
    expect(admitted.length).toBeLessThanOrEqual(9);
    expect(clock.sleeps.length).toBeGreaterThan(0);
    expect(asks).toHaveLength(12);
  });

  it("writes the corrections of answers that come in together in one update, without colliding with itself", async () => {
    // Prepare: six calls admitted, each then taking 800 ms where 500 were reserved.
    const store = new CountingStore();
    const clock = new FakeClock();
    const b = budget(store, clock);
    const reservations = await Promise.all(Array.from({ length: 6 }, () => b.acquire(bulk)));
    const before = store.writes;

    // Act
    await Promise.all(reservations.map((r) => r.settle(800)));

    // Assess: one or two writes (a batch, and what came in while it was written), never one per answer.
    expect(store.writes - before).toBeLessThanOrEqual(2);
    expect(b.stats().conflicts).toBe(0);
    const { row } = await store.read([...(store as unknown as { rows: Map<string, unknown> }).rows.keys()][0]);
    const charged = row.grants.reduce((sum, [, , ms]) => sum + (ms ?? 0), 0);
    expect(charged).toBe(6 * 800);
  });
});
