import { describe, expect, it } from "vitest";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget, type BudgetReservation } from "../../../shared/throttle/throttleBudget.js";
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
    await answer(clock, round, sentAt, seenOf);
  }
  return sentAt.filter((t) => t < start + 1_000).length;
}

/** A round answered 200 ms later by servers that each saw `seenOf(the requests sent in the window)`. */
async function answer(clock: FakeClock, round: BudgetReservation[], sentAt: number[], seenOf: (sentInWindow: number) => number): Promise<void> {
  clock.time += 200;
  const inWindow = sentAt.filter((t) => t > clock.now() - 1_000).length;
  for (const reservation of round) await reservation.settle(200, { burstRemaining: Math.max(0, 10 - seenOf(inWindow)) });
}

/** What the transport does with a 429: the attempt's reservation settled as refused, then the Retry-After shared. */
async function refuse(b: ThrottleBudget, reservation: BudgetReservation): Promise<void> {
  await reservation.settle(0, { learn: false, refused: true });
  await b.penalize(100);
}

/**
 * Rounds of 2 requests from each of `budgets` (processes sharing one store) at once, each round
 * answered 200 ms later by servers that each saw `seenOf(the identity's requests in the window)`
 * (20 a window from two processes: a quarter of them stays within one server's 10).
 */
async function sendTogether(clock: FakeClock, budgets: ThrottleBudget[], rounds: number, seenOf: (sentInWindow: number) => number): Promise<void> {
  const sentAt: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const round: BudgetReservation[] = [];
    for (const b of budgets) {
      for (let i = 0; i < 2; i++) {
        round.push(await b.acquire({ kind: "read" }));
        sentAt.push(clock.now());
      }
    }
    await answer(clock, round, sentAt, seenOf);
  }
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
    await refuse(b, await b.acquire({ kind: "read" }));
    expect(b.stats().servers).toBe(3);
    clock.time += 200;
    await send(clock, b, 5, quarter);
    expect(b.stats().servers).toBe(3);
  });

  it("steps down once for a burst of 429s to requests granted before the step, and again for one granted after it", async () => {
    const clock = new FakeClock();
    const b = budget(clock);
    await send(clock, b, 40, quarter);
    expect(b.stats().servers).toBe(4);
    // Three requests go out together and all three hear 429: one overload.
    const burst = [await b.acquire({ kind: "read" }), await b.acquire({ kind: "read" }), await b.acquire({ kind: "read" })];
    clock.time += 10;
    for (const r of burst) await refuse(b, r);
    expect(b.stats().servers).toBe(3);
    // A request granted after the step and refused as well: three servers were still too many.
    clock.time += 10;
    const after = await b.acquire({ kind: "read" });
    clock.time += 10;
    await refuse(b, after);
    expect(b.stats().servers).toBe(2);
  });

  it("counts the requests of the processes sharing its budget as the identity's: two processes on four servers read four", async () => {
    const clock = new FakeClock();
    const store = new MemoryBudgetStore();
    const make = () => new ThrottleBudget({ store, identity: "client", maxRequests: 10, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100 });
    const [a, b] = [make(), make()];

    await sendTogether(clock, [a, b], 12, quarter);

    expect(a.stats().servers).toBe(4);
    expect(b.stats().servers).toBe(4);
  });

  it("adopts the server count another process sharing the budget learned, through the budget's row", async () => {
    const clock = new FakeClock();
    const store = new MemoryBudgetStore();
    const make = () => new ThrottleBudget({ store, identity: "client", maxRequests: 10, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100 });
    const learner = make();
    await send(clock, learner, 40, quarter);
    expect(learner.stats().servers).toBe(4);
    // A lease writes the decision into the row.
    await learner.acquire({ kind: "read" });

    // Act: a process with no answers of its own leases.
    const newcomer = make();
    await newcomer.acquire({ kind: "read" });

    expect(newcomer.stats().servers).toBe(4);

    // A process starting long after (ten windows): that decision is no evidence any more.
    clock.time += 10_000;
    const later = make();
    await later.acquire({ kind: "read" });
    expect(later.stats().servers).toBe(1);
  });

  it("never goes beyond maxServers (1 keeps the limits one server's)", async () => {
    const clock = new FakeClock();
    const b = budget(clock, 1);
    await send(clock, b, 40, quarter);
    expect(b.stats().servers).toBe(1);
  });
});
