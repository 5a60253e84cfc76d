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

/**
 * One server's 20 requests and 4,000 ms of execution per 1,000-ms window; a bulk call not yet seen
 * reserves `coldMs` (default 100: six of them fit in the quarter of the window's time that the
 * budget grants at once).
 */
function budget(store: CountingStore, clock: FakeClock, coldMs = 100) {
  return new ThrottleBudget({ store, identity: "client", maxRequests: 20, maxExecutionMs: 4_000, coldEstimateMs: coldMs, windowMs: 1_000, clock, maxServers: 1 });
}

describe("ThrottleBudget: row writes of one process", () => {
  it("admits a burst of calls with one lease sized for all of them, not one row round trip per call", async () => {
    // Prepare
    const store = new CountingStore();
    const clock = new FakeClock();
    const b = budget(store, clock);

    // Act: six bulk calls ask at once (600 of the window's 4,000 ms).
    const reservations = await Promise.all(Array.from({ length: 6 }, () => b.acquire(bulk)));

    // Assess
    expect(reservations).toHaveLength(6);
    expect(store.writes).toBe(1);
    expect(b.stats()).toMatchObject({ granted: 6, conflicts: 0 });
  });

  it("admits a burst a quarter of the window's execution at a time, never more than the window holds", async () => {
    // Prepare: twelve calls of 500 ms ask at once; the window holds 4,000 ms, a quarter of it 1,000.
    const store = new CountingStore();
    const clock = new FakeClock();
    const start = clock.now();
    const b = budget(store, clock, 500);

    // Act: the fake clock's sleeps pass at once, so each call is admitted at the time the budget waited for.
    const admittedAt = await Promise.all(Array.from({ length: 12 }, () => b.acquire(bulk).then(() => clock.now() - start)));

    // Assess: two calls (1,000 ms) at once, the next ones as the quarters pass; in any window at most
    // one call's estimate beyond its 4,000 ms (the service admits while the window is below its limit).
    const sorted = admittedAt.sort((x, y) => x - y);
    expect(sorted.filter((t) => t === 0)).toHaveLength(2);
    for (const t of sorted) expect(sorted.filter((u) => u >= t && u < t + 250).length).toBeLessThanOrEqual(3);
    for (const t of sorted) expect(sorted.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(9);
    expect(sorted.at(-1)).toBeGreaterThan(1_000);
  });

  it("leases no more requests than the execution it leases serves", async () => {
    // Prepare: four calls of 500 ms wait together; a quarter of the window (1,000 ms) serves two.
    const store = new CountingStore();
    const clock = new FakeClock();
    clock.sleep = (ms: number) => new Promise<void>(() => void clock.sleeps.push(ms));
    const b = budget(store, clock, 500);

    // Act
    void Promise.all(Array.from({ length: 4 }, () => b.acquire(bulk)));
    for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));

    // Assess: the row holds a lease of two requests, not of the four that asked.
    const { row } = await store.read([...(store as unknown as { rows: Map<string, unknown> }).rows.keys()][0]);
    expect(row.grants.map(([, n]) => n)).toEqual([2]);
    expect(b.stats().granted).toBe(2);
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
