import { afterEach, describe, expect, it, vi } from "vitest";
import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget } from "../../../shared/throttle/throttleBudget.js";
import type { ThrottleOptionsInput } from "../../emulators/dataverse/throttleModel.js";
import { scaledClock } from "../../support/scaledClock.js";
import { CLIENT_ID, startHarness, type Harness } from "../emulator/extrasHarness.js";

/** 5 requests per 1-s window per server, the service's time 2x faster (a window is 0.5 real seconds). */
const TIME_SCALE = 2;
const limits = (servers: number, latencyMs = 10): ThrottleOptionsInput => ({ enabled: true, servers, windowSeconds: 1, maxRequests: 5, timeScale: TIME_SCALE, cost: { latencyMs, readMs: 5 } });
/**
 * The budget counts its own requests up to its window slack (here 410 of the service's ms) before
 * an answer: requests that take longer than that (as bulk calls do) let every answer count the
 * requests sent before it.
 */
const SLOW_MS = 500;

/**
 * The product's Dataverse client with its own budget (one server's limits, as the product assumes),
 * on the service's clock. The window's fixed slack is 200 real ms (in the service's time): the
 * grant-to-arrival delay varies that much on a loaded 2-core machine, and a 0.5-s window is short.
 */
function productClient(h: Harness, sent: Headers[] = []) {
  const clock = scaledClock(TIME_SCALE);
  const budget = new ThrottleBudget({ store: new MemoryBudgetStore(), identity: CLIENT_ID, maxRequests: 5, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 200 * TIME_SCALE });
  const fetch: typeof globalThis.fetch = async (input, init) => {
    sent.push(new Headers(init?.headers));
    return globalThis.fetch(input, init);
  };
  const client = createDataverseClient({ instanceUrl: h.emulator.origin, tokens: { getToken: () => h.token() }, clock, budget, fetch });
  return { client, budget };
}

/** `calls` WhoAmI requests over 8 lanes; the most requests the emulator admitted within one window (real ms). */
async function load(h: Harness, client: ReturnType<typeof productClient>["client"], calls: number): Promise<{ mostInWindow: number }> {
  let next = 0;
  const lane = async () => {
    while (next < calls) {
      next += 1;
      await client.whoAmI();
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  const admitted = h.emulator.log.entries().filter((e) => e.status === 200 && e.path.includes("WhoAmI")).map((e) => e.at);
  const windowRealMs = 1_000 / TIME_SCALE;
  const mostInWindow = Math.max(...admitted.map((t) => admitted.filter((u) => u >= t && u < t + windowRealMs).length));
  return { mostInWindow };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe("several web servers", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.emulator.stop();
    h = undefined;
  });

  it("sets the ARRAffinity cookie on the first answer, keeps a client that sends it back on its server, and spreads clients that do not", async () => {
    // Prepare
    h = await startHarness({ throttle: { ...limits(3), maxRequests: 100 } });
    // Act
    const first = await h.call("GET", "WhoAmI");
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith("ARRAffinity="))!.split(";")[0];
    const pinned = [];
    for (let i = 0; i < 4; i++) pinned.push(await h.call("GET", "WhoAmI", { headers: { cookie } }));
    const pinnedCounts = h.emulator.throttle.stats().perServer;
    for (let i = 0; i < 3; i++) await h.call("GET", "WhoAmI");
    // Assess: the pinned requests all went to the first answer's server and got no new cookie;
    // the cookieless ones went one to each server.
    expect(cookie).toMatch(/^ARRAffinity=[0-9a-f]{64}$/);
    expect(pinned.every((r) => r.status === 200 && r.headers.getSetCookie().length === 0)).toBe(true);
    expect([...pinnedCounts].sort()).toEqual([0, 0, 5]);
    expect(h.emulator.throttle.stats().perServer.map((n, i) => n - pinnedCounts[i]).sort()).toEqual([1, 1, 1]);
  });

  it("the product keeps no affinity: it never sends the cookie back, so its requests spread over every server", async () => {
    // Prepare
    h = await startHarness({ throttle: { ...limits(4), maxRequests: 100 } });
    const sent: Headers[] = [];
    const { client } = productClient(h, sent);
    // Act
    for (let i = 0; i < 8; i++) await client.whoAmI();
    // Assess: the eight requests and the probes beside them (WhoAmI, until an answer repeats a
    // server), none with the cookie, reached every server.
    await vi.waitFor(() => expect(sent).toHaveLength(sum(h!.emulator.throttle.stats().perServer)));
    expect(sent.length).toBeGreaterThanOrEqual(8);
    expect(sent.filter((headers) => headers.has("cookie"))).toEqual([]);
    expect(Math.min(...h.emulator.throttle.stats().perServer)).toBeGreaterThanOrEqual(2);
  });

  it("with one server the budget stays at one server's allowance and is never refused", async () => {
    // Prepare
    h = await startHarness({ throttle: limits(1, SLOW_MS) });
    const { client, budget } = productClient(h);
    // Act
    const { mostInWindow } = await load(h, client, 40);
    // Assess
    expect(client.stats().throttled).toBe(0);
    expect(budget.stats().servers).toBe(1);
    expect(mostInWindow).toBeLessThanOrEqual(5);
  });

  it("with four servers the budget learns from the answers' request counters to use more than one server's allowance", async () => {
    // Prepare
    h = await startHarness({ throttle: limits(4, SLOW_MS) });
    const { client, budget } = productClient(h);
    // Act
    const { mostInWindow } = await load(h, client, 80);
    // Assess: more than one server's 5 requests went in one window (the budget alone holds one
    // server's allowance until it learns), and the estimate never exceeds the servers there are;
    // every request was one of the 80, a retry after a 429, or one of the few probes (WhoAmI beside
    // the load until an answer repeated a server: fewer than the four servers)
    expect(mostInWindow).toBeGreaterThan(5);
    expect(budget.stats().servers).toBeLessThanOrEqual(4);
    const probes = client.stats().requests - 80 - client.stats().throttled;
    expect(probes).toBeGreaterThanOrEqual(0);
    expect(probes).toBeLessThan(4);
  });
});
