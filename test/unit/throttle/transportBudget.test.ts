import { describe, expect, it } from "vitest";
import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import type { RequestBudget, RequestCost } from "../../../shared/dataverse/dataverseTransport.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget, budgetKey } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock, jsonResponse, scriptedFetch } from "../http/fakes.js";

const instanceUrl = "https://org.crm4.dynamics.com";
const throttled = () => jsonResponse(429, { error: { code: "0x80072322", message: "Number of requests exceeded the limit" } }, { "retry-after": "7" });

describe("DataverseClient with a shared throttle budget", () => {
  it("starts an attempt's timeout only once the budget admits it: a wait for the window is not a slow server", async () => {
    // Prepare: the budget holds the request five times longer than its timeout.
    let releaseBudget!: () => void;
    const budgetOpen = new Promise<void>((resolve) => (releaseBudget = resolve));
    const budget: RequestBudget = { acquire: async () => void (await budgetOpen), penalize: async () => {} };
    const signals: AbortSignal[] = [];
    const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      signals.push(init!.signal!);
      return jsonResponse(200, { UserId: "u" });
    }) as typeof globalThis.fetch;
    const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch, random: () => 0, budget, timeoutMs: 20 });

    // Act: the window opens after 100 ms (real time: the timeout is an AbortSignal.timeout).
    const answer = client.whoAmI();
    setTimeout(releaseBudget, 100);
    const who = await answer;

    // Assess: one attempt, sent with a live signal, answered.
    expect(who.UserId).toBe("u");
    expect(signals).toHaveLength(1);
    expect(signals[0].aborted).toBe(false);
  });

  it("asks the budget before every attempt, so a full window makes the next request wait", async () => {
    // Prepare
    const clock = new FakeClock();
    const budget = new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 2, windowMs: 60_000, leaseSize: 1, clock });
    const fetch = scriptedFetch([jsonResponse(200, { UserId: "u" }), jsonResponse(200, { UserId: "u" }), jsonResponse(200, { UserId: "u" })]);
    const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch, clock, random: () => 0, budget });
    const start = clock.now();

    // Act
    for (let i = 0; i < 3; i++) await client.whoAmI();

    // Assess
    expect(fetch.calls).toHaveLength(3);
    expect(clock.now()).toBeGreaterThanOrEqual(start + 60_000);
  });

  it("shares a 429's Retry-After with every other process on the identity", async () => {
    // Prepare
    const clock = new FakeClock();
    const store = new MemoryBudgetStore();
    const mine = new ThrottleBudget({ store, identity: "client", maxRequests: 100, windowMs: 300_000, clock });
    const theirs = new ThrottleBudget({ store, identity: "client", maxRequests: 100, windowMs: 300_000, clock });
    const fetch = scriptedFetch([throttled(), jsonResponse(200, { UserId: "u" })]);
    const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch, clock, random: () => 0, budget: mine });
    const start = clock.now();

    // Act: the 429 lands at `start`; the other process asks right then.
    await client.whoAmI();
    clock.time = start;
    await theirs.acquire();

    // Assess: it was held until the 7 s had passed, and the row says so for everyone else too.
    expect(clock.now()).toBe(start + 7_000);
    expect((await store.read(budgetKey("client"))).row.blockedUntil).toBe(start + 7_000);
    expect(client.stats().throttled).toBe(1);
  });

  it("reserves a bulk call's cost by its records and settles it with how long the call took", async () => {
    // Prepare
    const clock = new FakeClock();
    const asked: RequestCost[] = [];
    const settled: { observedMs: number; learn?: boolean }[] = [];
    const budget: RequestBudget = {
      acquire: async (cost) => (asked.push(cost ?? {}), { settle: async (observedMs, options) => void settled.push({ observedMs, learn: options?.learn }) }),
      penalize: async () => {},
    };
    const answer = () => {
      clock.time += 1_250;
      return jsonResponse(200, { Ids: ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003"] });
    };
    const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch: scriptedFetch([answer]), clock, random: () => 0, budget });
    const writes = [1, 2, 3].map((i) => ({ ref: `r${i}`, kind: "create" as const, body: { lastname: `L${i}` } }));

    // Act
    const results = await client.writeMany("contacts", "contact", writes);

    // Assess
    expect(results.every((r) => r.ok)).toBe(true);
    expect(asked).toEqual([{ kind: "bulk", records: 3 }]);
    expect(settled).toEqual([{ observedMs: 1_250, learn: true }]);
  });

  it("gives a throttled attempt's reservation back unlearned and holds every process until Retry-After", async () => {
    // Prepare
    const clock = new FakeClock();
    const store = new MemoryBudgetStore();
    const options = { store, identity: "client", maxRequests: 100, maxExecutionMs: 40_000, windowMs: 300_000, coldEstimateMs: 10_000, clock };
    const mine = new ThrottleBudget(options);
    const theirs = new ThrottleBudget(options);
    const fetch = scriptedFetch([throttled(), () => ((clock.time += 400), jsonResponse(200, { UserId: "u" }))]);
    const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch, clock, random: () => 0, budget: mine });
    const start = clock.now();

    // Act
    await client.whoAmI();
    const { row } = await store.read(budgetKey("client"));
    clock.time = start;
    await theirs.acquire({ kind: "read" });

    // Assess: held for the 7 s; the window holds only what the answered attempt took, which is learned.
    expect(clock.now()).toBe(start + 7_000);
    expect(row.grants.reduce((s, [, , ms]) => s + ms, 0)).toBe(400);
    expect(mine.estimate({ kind: "read" })).toBe(400);
    expect(mine.stats().observedMs).toBe(400);
  });
});
