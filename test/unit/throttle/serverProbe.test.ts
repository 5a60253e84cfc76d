import { describe, expect, it, vi } from "vitest";
import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock, jsonResponse, type RecordedCall } from "../http/fakes.js";

const instanceUrl = "https://org.crm4.dynamics.com";

/** Requests only, one server's limits until the answers show more (at most eight). */
function requestBudget(clock: FakeClock) {
  return new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 1_000, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100 });
}

/**
 * A load balancer in front of `servers` web servers, each request to the next in turn; every answer
 * sets the ARRAffinity cookie of the server that answered (`named: false`: no cookie at all).
 */
function balancedFetch(servers: number, named = true): typeof fetch & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  let next = 0;
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(input), method: init?.method ?? "GET", headers: {}, body: init?.body as string | undefined });
    const server = next++ % servers;
    return jsonResponse(200, { UserId: "u", BusinessUnitId: "b", OrganizationId: "o" }, named ? { "set-cookie": `ARRAffinity=server-${server};Path=/;HttpOnly;Secure` } : {});
  };
  return Object.assign(fn, { calls }) as typeof fetch & { calls: RecordedCall[] };
}

/** The product's client with its budget, behind `balancedFetch(servers, named)`. */
function clientBehind(servers: number, named = true) {
  const clock = new FakeClock();
  const budget = requestBudget(clock);
  const fetch = balancedFetch(servers, named);
  const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch, clock, random: () => 0, budget });
  return { budget, fetch, client };
}

describe("ThrottleBudget.probe: when a cheap request would name a server not seen yet", () => {
  it("says no before any answer has named a server, yes while each answer names a new one, and no once one repeats", async () => {
    // Prepare
    const clock = new FakeClock();
    const b = requestBudget(clock);
    const answer = async (server: string) => (await b.acquire({ kind: "read" })).settle(20, { server });
    const before = b.probe();

    // Act
    await answer("server-0");
    const afterOne = b.probe();
    await answer("server-1");
    const afterTwo = b.probe();
    await answer("server-0");
    const afterRepeat = b.probe();

    // Assess
    expect([before, afterOne, afterTwo, afterRepeat]).toEqual([false, true, true, false]);
  });

  it("stops after as many probes as the servers it may use, stays off after a 429, and searches again once the servers' evidence has aged out", async () => {
    // Prepare: answers keep naming new servers; at most four servers.
    const clock = new FakeClock();
    const b = new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 1_000, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100, maxServers: 4 });
    await (await b.acquire({ kind: "read" })).settle(20, { server: "server-0" });

    // Act
    const granted: boolean[] = [];
    for (let i = 0; i < 6; i++) granted.push(b.probe());
    const refused = await b.acquire({ kind: "read" });
    clock.time += 5_000;
    await refused.settle(0, { learn: false, refused: true });
    const afterRefusal = b.probe();
    clock.time += 5_001;
    await (await b.acquire({ kind: "read" })).settle(20, { server: "server-0" });
    const later = b.probe();

    // Assess: four probes (the most servers), none for five windows after the 429, then a new search.
    expect(granted).toEqual([true, true, true, true, false, false]);
    expect(afterRefusal).toBe(false);
    expect(later).toBe(true);
  });

  it("never asks for a probe when the budget keeps one server's limits (maxServers 1)", async () => {
    // Prepare
    const clock = new FakeClock();
    const b = new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 1_000, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100, maxServers: 1 });

    // Act: answers from two servers, each new.
    await (await b.acquire({ kind: "read" })).settle(20, { server: "server-0" });
    await (await b.acquire({ kind: "read" })).settle(20, { server: "server-1" });

    // Assess
    expect(b.probe()).toBe(false);
    expect(b.serverCount).toBe(1);
  });
});

describe("DataverseClient: the identity's web servers found before the load's long calls answer", () => {
  it("sends WhoAmI beside a request, one at a time, until an answer repeats a server: four servers' limits after five requests", async () => {
    // Prepare
    const { budget, fetch, client } = clientBehind(4);
    await client.whoAmI();
    const afterFirst = budget.serverCount;

    // Act: the second request names a second server; the probes beside it name the other two.
    await client.whoAmI();
    await vi.waitFor(() => expect(fetch.calls).toHaveLength(5));
    await vi.waitFor(() => expect(budget.probe()).toBe(false));

    // Assess: the fifth answer repeated the first server, which ended the search.
    expect(afterFirst).toBe(1);
    expect(budget.serverCount).toBe(4);
    expect(fetch.calls.map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual(Array(5).fill("GET /api/data/v9.2/WhoAmI"));
    expect(fetch.calls).toHaveLength(5);
  });

  it("sends no probe when the answers name no server", async () => {
    // Prepare
    const { budget, fetch, client } = clientBehind(4, false);

    // Act
    for (let i = 0; i < 3; i++) await client.whoAmI();

    // Assess
    expect(fetch.calls).toHaveLength(3);
    expect(budget.serverCount).toBe(1);
  });

  it("at one server sends one probe, whose answer repeats the server", async () => {
    // Prepare
    const { budget, fetch, client } = clientBehind(1);

    // Act
    await client.whoAmI();
    await client.whoAmI();
    await vi.waitFor(() => expect(fetch.calls).toHaveLength(3));

    // Assess
    expect(budget.probe()).toBe(false);
    expect(budget.serverCount).toBe(1);
  });
});
