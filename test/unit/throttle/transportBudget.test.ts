import { describe, expect, it } from "vitest";
import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget, budgetKey } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock, jsonResponse, scriptedFetch } from "../http/fakes.js";

const instanceUrl = "https://org.crm4.dynamics.com";
const throttled = () => jsonResponse(429, { error: { code: "0x80072322", message: "Number of requests exceeded the limit" } }, { "retry-after": "7" });

describe("DataverseClient with a shared throttle budget", () => {
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
});
