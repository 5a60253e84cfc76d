import { describe, expect, it } from "vitest";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock } from "../http/fakes.js";

/** One server's limit: 10 requests per 1,000 ms; requests take 200 ms (longer than the window's 110-ms slack). */
function budget(clock: FakeClock, maxServers?: number) {
  return new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 10, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100, maxServers });
}

/**
 * Sends `count` requests in rounds of 5 as fast as the budget admits, each round answered 200 ms
 * later by servers that say they saw `seenOf(sent in the window)` requests. Returns how many were
 * sent within the first window.
 */
async function send(clock: FakeClock, b: ThrottleBudget, count: number, seenOf: (sentInWindow: number) => number): Promise<number> {
  const start = clock.now();
  const sentAt: number[] = [];
  for (let done = 0; done < count; done += 5) {
    const round = [];
    for (let i = 0; i < 5; i++) {
      round.push(await b.acquire({ kind: "read" }));
      sentAt.push(clock.now());
    }
    clock.time += 200;
    const inWindow = sentAt.filter((t) => t > clock.now() - 1_000).length;
    for (const reservation of round) await reservation.settle(200, { burstRemaining: Math.max(0, 10 - seenOf(inWindow)) });
  }
  return sentAt.filter((t) => t < start + 1_000).length;
}

/** The server's view when the requests spread evenly over four servers. */
const quarter = (n: number) => Math.max(1, Math.round(n / 4));

describe("ThrottleBudget: learning how many web servers its requests spread over", () => {
  it("keeps one server's allowance while the answering server has seen every request", async () => {
    const clock = new FakeClock();
    const b = budget(clock);
    const firstWindow = await send(clock, b, 40, (n) => n);
    expect(b.stats().servers).toBe(1);
    expect(firstWindow).toBeLessThanOrEqual(10);
  });

  it("uses four servers' allowance once the answers show a quarter of its requests on each (four servers read as four)", async () => {
    const clock = new FakeClock();
    const b = budget(clock);
    await send(clock, b, 40, quarter);
    expect(b.stats().servers).toBe(4);
    // Act: the next window admits more than one server's 10 requests.
    const next = await send(clock, b, 40, quarter);
    expect(next).toBeGreaterThan(10);
  });

  it("steps down one server after a 429 and does not climb again for a window", async () => {
    const clock = new FakeClock();
    const b = budget(clock);
    await send(clock, b, 40, quarter);
    await b.penalize(100);
    expect(b.stats().servers).toBe(3);
    clock.time += 200;
    await send(clock, b, 5, quarter);
    expect(b.stats().servers).toBe(3);
  });

  it("never goes beyond maxServers (1 keeps the limits one server's)", async () => {
    const clock = new FakeClock();
    const b = budget(clock, 1);
    await send(clock, b, 40, quarter);
    expect(b.stats().servers).toBe(1);
  });
});
