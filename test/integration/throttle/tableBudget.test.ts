import { describe, expect, it } from "vitest";
import type { Clock } from "../../../shared/ports.js";
import type { SeenServer } from "../../../shared/throttle/budgetStore.js";
import { TableBudgetStore } from "../../../shared/throttle/tableBudgetStore.js";
import { ThrottleBudget, budgetKey } from "../../../shared/throttle/throttleBudget.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";

/** Real storage, simulated time: sleeping advances the shared clock instead of waiting. */
function steppingClock(start = 5_000_000): Clock {
  let now = start;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

async function tableStore(tableName = uniqueName("budget")): Promise<TableBudgetStore> {
  const store = new TableBudgetStore({ connectionString: azuriteConnectionString(), tableName });
  await store.ensure();
  return store;
}

describe("ThrottleBudget over Table Storage", () => {
  it("two budgets racing over one table never admit more than the limit in a window together", async () => {
    // Prepare
    const clock = steppingClock();
    // Two store clients on one table, as two processes would have.
    const table = uniqueName("budget");
    const make = async () => new ThrottleBudget({ store: await tableStore(table), identity: "client-x", maxRequests: 12, windowMs: 60_000, leaseSize: 2, clock });
    const budgets = [await make(), await make()];
    const start = clock.now();
    const admittedAt: number[] = [];

    // Act: both race for 20 requests at once; only 12 fit the first window.
    await Promise.all(budgets.flatMap((b) => Array.from({ length: 10 }, async () => {
      await b.acquire();
      admittedAt.push(clock.now());
    })));

    // Assess
    expect(admittedAt).toHaveLength(20);
    expect(admittedAt.filter((t) => t < start + 60_000).length).toBe(12);
    const busiestWindow = Math.max(...admittedAt.map((t) => admittedAt.filter((u) => u >= t && u < t + 60_000).length));
    expect(busiestWindow).toBe(12);
    expect(budgets[0].stats().granted + budgets[1].stats().granted).toBe(20);
  });

  it("a Retry-After recorded by one budget holds the other back", async () => {
    // Prepare
    const clock = steppingClock();
    const store = await tableStore();
    const a = new ThrottleBudget({ store, identity: "client-y", maxRequests: 100, windowMs: 60_000, leaseSize: 1, clock });
    const b = new ThrottleBudget({ store, identity: "client-y", maxRequests: 100, windowMs: 60_000, leaseSize: 1, clock });
    const penalizedAt = clock.now();

    // Act
    await a.penalize(7_000);
    await b.acquire();

    // Assess
    expect(clock.now()).toBeGreaterThanOrEqual(penalizedAt + 7_000);
    const row = await store.read(budgetKey("client-y"));
    expect(row.row.blockedUntil).toBe(penalizedAt + 7_000);
  });

  it("two budgets over one row never admit more execution time in a window than the limit together", async () => {
    // Prepare: every call takes 1,000 ms and 4,000 ms fit a window, so 4 of the 10 go in the first.
    const clock = steppingClock();
    const table = uniqueName("budget");
    const make = async () => new ThrottleBudget({ store: await tableStore(table), identity: "client-z", maxRequests: 100, maxExecutionMs: 4_000, windowMs: 60_000, coldEstimateMs: 1_000, clock });
    const budgets = [await make(), await make()];
    const start = clock.now();
    const admittedAt: number[] = [];

    // Act
    await Promise.all(budgets.flatMap((b) => Array.from({ length: 5 }, async () => {
      const reservation = await b.acquire({ kind: "bulk", records: 500 });
      admittedAt.push(clock.now());
      await reservation.settle(1_000);
    })));

    // Assess: the request limit (100) alone would have admitted all 10 at once.
    expect(admittedAt).toHaveLength(10);
    expect(admittedAt.filter((t) => t < start + 60_000)).toHaveLength(4);
    const busiestWindow = Math.max(...admittedAt.map((t) => admittedAt.filter((u) => u >= t && u < t + 60_000).length));
    expect(busiestWindow).toBe(4);
    const { row } = await (await tableStore(table)).read(budgetKey("client-z"));
    expect(row.grants.every((g) => g.length === 3)).toBe(true);
    expect(row.grants.reduce((s, [, , ms]) => s + ms, 0)).toBeGreaterThanOrEqual(1_000);
  });
  it("keeps the identity's server decision in the row, and reads a damaged one as none", async () => {
    const store = await tableStore();
    const key = budgetKey("client-servers");
    await store.write(key, { grants: [[1, 2, 3]], blockedUntil: 0, servers: { count: 4, at: 1_700_000_000_123 } }, undefined);

    const { row, etag } = await store.read(key);
    expect(row.servers).toEqual({ count: 4, at: 1_700_000_000_123 });

    await store.write(key, { ...row, servers: { count: 0.5, at: Number.NaN } }, etag);
    expect((await store.read(key)).row.servers).toBeUndefined();
  });

  it("keeps the servers the identity reached in the row, and drops damaged entries", async () => {
    const store = await tableStore();
    const key = budgetKey("client-seen");
    const seen: SeenServer[] = [["0a1b2c3d4e5f", 1_700_000_000_123], ["f5e4d3c2b1a0", 1_700_000_000_456]];
    await store.write(key, { grants: [], blockedUntil: 0, seen }, undefined);

    const { row, etag } = await store.read(key);
    expect(row.seen).toEqual(seen);

    await store.write(key, { ...row, seen: [["", 1], ["ok", Number.NaN], [7, 8] as unknown as SeenServer, ["kept", 9]] }, etag);
    expect((await store.read(key)).row.seen).toEqual([["kept", 9]]);
  });
});
