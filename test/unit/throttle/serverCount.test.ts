import { describe, expect, it } from "vitest";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget, type BudgetReservation } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock } from "../http/fakes.js";

/**
 * One server's limits: 1,000 requests and 4,000 ms of execution per 1,000-ms window (the service's
 * four full-speed executions). Requests reserve little and are settled as having taken 1 ms, so
 * the budget's execution reservations never hold these loads back: what is tested is only what the
 * answers make it learn (the time each request was under way is the budget's own record of it).
 */
function budget(clock: FakeClock) {
  return new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 1_000, maxExecutionMs: 4_000, coldEstimateMs: 10, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100 });
}

interface Sent {
  at: number;
  server: number;
  reservation: BudgetReservation;
}

/**
 * A steady load on `servers` servers (requests spread round robin, as with affinity off): every
 * `everyMs` (100) two requests are sent (`named`: each answer names its server, as the ARRAffinity cookie does), each answered `durationMs` later. A server's answer carries its own
 * count of the identity's requests in its window, and its execution time left: its running requests
 * share four full-speed executions (the emulator's model), so with more than four running the server
 * spends less time than the requests are under way.
 */
async function steadyLoad(clock: FakeClock, b: ThrottleBudget, servers: number, durationMs: number, windows: number, everyMs = 100, named = false): Promise<number[]> {
  const sent: Sent[] = [];
  const learned: number[] = [];
  let next = 0;
  const end = clock.now() + windows * 1_000;
  while (clock.now() < end) {
    for (let i = 0; i < 2; i++) sent.push({ at: clock.now(), server: next++ % servers, reservation: await b.acquire({ kind: "write" }) });
    clock.time += everyMs;
    const now = clock.now();
    for (const r of sent.filter((s) => s.at + durationMs <= now && s.at + durationMs > now - everyMs)) {
      const onServer = sent.filter((s) => s.server === r.server && s.at > now - 1_000);
      const running = onServer.filter((s) => s.at + durationMs > now).length + 1;
      // Execution spent in the window: the server's running requests at four full speeds at most.
      const spentMs = Math.min(4, running) * Math.min(1_000, durationMs * onServer.length / Math.max(1, running));
      const server = named ? { server: `server-${r.server}` } : {};
      await r.reservation.settle(1, { burstRemaining: 1_000 - onServer.length, timeRemainingMs: Math.max(0, 4_000 - spentMs), ...server });
    }
    learned.push(b.serverCount);
  }
  return learned;
}

describe("ThrottleBudget: the server count from the answers' request counters", () => {
  it("never reads one server as two, even when many requests share the server's execution and the time header lags far behind", async () => {
    // Prepare: twelve requests under way at once on one server that executes four at full speed:
    // they are under way three times as long as the server spends on them.
    const clock = new FakeClock();
    const b = budget(clock);
    // Act
    const learned = await steadyLoad(clock, b, 1, 600, 8);
    // Assess
    expect(Math.max(...learned)).toBe(1);
  });

  it.each([
    { servers: 4, durationMs: 400, why: "four servers as four (no longer three), so the identity gets four servers' allowance" },
    { servers: 2, durationMs: 900, why: "two servers as two and never more, with long calls that keep more than four running on each" },
  ])("reads $why", async ({ servers, durationMs }) => {
    // Prepare
    const clock = new FakeClock();
    const b = budget(clock);
    // Act
    const learned = await steadyLoad(clock, b, servers, durationMs, 8);
    // Assess: the count once a window of answers is in, and never more than there are.
    expect(learned.at(-1)).toBe(servers);
    expect(Math.max(...learned)).toBe(servers);
  });

  it("keeps four servers when each sees about four of the identity's requests a window, calls as long as the window", async () => {
    // Prepare: 16 calls a window over four servers, each under way for a little more than a window
    // (the benchmark's shrunk window): every answer's server saw four or five of them, the answered
    // one included, where the process counts about seventeen. own / seen is 3.4 to 4.3. The answers
    // name their servers (what raises the count to four once the counters allow it).
    const clock = new FakeClock();
    const b = budget(clock);
    // Act
    const learned = await steadyLoad(clock, b, 4, 1_050, 12, 125, true);
    // Assess: four once learned, and no step down to three without a 429 (before: three throughout)
    const from = learned.indexOf(4);
    expect(from).toBeGreaterThanOrEqual(0);
    expect(learned.slice(from).every((n) => n === 4)).toBe(true);
  });

  it("counts a request only once it has reached the server: answers that lag the sends by up to a tenth of the window still read one server", async () => {
    // Prepare: the server counts a request 90 ms after the budget granted it (a slow network or a loaded machine).
    const clock = new FakeClock();
    const b = budget(clock);
    const sent: Array<{ at: number; reservation: BudgetReservation }> = [];
    const learned: number[] = [];
    // Act: every 50 ms one request, answered 150 ms later.
    for (let step = 0; step < 160; step++) {
      sent.push({ at: clock.now(), reservation: await b.acquire({ kind: "write" }) });
      clock.time += 50;
      const now = clock.now();
      for (const r of sent.filter((s) => s.at + 150 <= now && s.at + 150 > now - 50)) {
        const arrived = sent.filter((s) => s.at + 90 <= now && s.at + 90 > now - 1_000).length;
        await r.reservation.settle(1, { burstRemaining: 1_000 - arrived });
      }
      learned.push(b.serverCount);
    }
    // Assess
    expect(Math.max(...learned)).toBe(1);
  });
});

describe("ThrottleBudget: evidence for a higher server count", () => {
  it("a few answers from servers that saw less than their share do not raise the count; enough answers do", async () => {
    // Prepare: ten requests sent early in the window, answered later by servers that each saw two.
    const clock = new FakeClock();
    const b = budget(clock);
    const reservations = [];
    for (let i = 0; i < 10; i++) reservations.push(await b.acquire({ kind: "write" }));
    clock.time += 500;

    // Act: three answers (a ratio of 5.6 each) ...
    for (const r of reservations.slice(0, 3)) await r.settle(1, { burstRemaining: 1_000 - 2 });
    const afterThree = b.serverCount;
    // ... then seven more in the same window.
    for (const r of reservations.slice(3)) await r.settle(1, { burstRemaining: 1_000 - 2 });

    // Assess: three answers show at most one server; ten show five.
    expect(afterThree).toBe(1);
    expect(b.serverCount).toBe(5);
  });
});
