import { describe, expect, it } from "vitest";
import type { Clock } from "../../../shared/ports.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget } from "../../../shared/throttle/throttleBudget.js";

/** A clock whose sleep moves time forward at once, so waits are observable without real time passing. */
function steppingClock(start = 1_000_000): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe("ThrottleBudget", () => {
  it("admits at most maxRequests in any window across two budgets sharing a store", async () => {
    // Prepare
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const make = () => new ThrottleBudget({ store, identity: "client-1", maxRequests: 10, windowMs: 1_000, leaseSize: 3, clock });
    const [a, b] = [make(), make()];
    const start = clock.now();
    const admittedAt: number[] = [];

    // Act
    for (let i = 0; i < 15; i++) {
      await (i % 2 ? a : b).acquire();
      admittedAt.push(clock.now());
    }

    // Assess
    const busiestWindow = Math.max(...admittedAt.map((t) => admittedAt.filter((u) => u >= t && u < t + 1_000).length));
    expect(busiestWindow).toBeLessThanOrEqual(10);
    expect(admittedAt.at(-1)).toBeGreaterThanOrEqual(start + 1_000);
  });

  it("blocks every budget of the identity until a 429's Retry-After has passed", async () => {
    // Prepare
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const a = new ThrottleBudget({ store, identity: "client-1", maxRequests: 100, windowMs: 60_000, leaseSize: 1, clock });
    const b = new ThrottleBudget({ store, identity: "client-1", maxRequests: 100, windowMs: 60_000, leaseSize: 1, clock });
    await b.acquire();
    const blockedFrom = clock.now();

    // Act
    await a.penalize(5_000);
    await b.acquire();

    // Assess
    expect(clock.now()).toBeGreaterThanOrEqual(blockedFrom + 5_000);
    expect(b.stats().waitedMs).toBeGreaterThanOrEqual(5_000);
  });

  it("keeps identities apart", async () => {
    // Prepare
    const clock = steppingClock();
    const store = new MemoryBudgetStore();
    const a = new ThrottleBudget({ store, identity: "client-1", maxRequests: 1, windowMs: 10_000, clock });
    const b = new ThrottleBudget({ store, identity: "client-2", maxRequests: 1, windowMs: 10_000, clock });
    await a.acquire();
    const before = clock.now();

    // Act
    await b.acquire();

    // Assess
    expect(clock.now()).toBe(before);
  });

  it("never writes the identity itself to the store", async () => {
    // Prepare
    const writes: string[] = [];
    const inner = new MemoryBudgetStore();
    const store = { read: (k: string) => inner.read(k), write: (k: string, row: never, etag: string | undefined) => (writes.push(k), inner.write(k, row, etag)) };
    const budget = new ThrottleBudget({ store, identity: "secret-client-id", maxRequests: 5, windowMs: 1_000, clock: steppingClock() });

    // Act
    await budget.acquire();

    // Assess
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.join()).not.toContain("secret-client-id");
  });
});
