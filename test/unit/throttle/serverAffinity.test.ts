import { describe, expect, it } from "vitest";
import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import type { RequestBudget } from "../../../shared/dataverse/dataverseTransport.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { budgetKey, ThrottleBudget } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock, jsonResponse } from "../http/fakes.js";

/** Requests only: what is tested is what the answers make the budget learn. */
function requestBudget(clock: FakeClock) {
  return new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 1_000, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100 });
}

/** Four requests, answered 200 ms later by four servers, each having seen one of them. */
async function fourServersAnswer(clock: FakeClock, b: ThrottleBudget): Promise<void> {
  const calls = [];
  for (let i = 0; i < 4; i++) calls.push(await b.acquire({ kind: "read" }));
  clock.time += 200;
  for (const [i, call] of calls.entries()) await call.settle(200, { burstRemaining: 999, server: `server-${i}` });
}

describe("ThrottleBudget: servers named by their ARRAffinity cookie", () => {
  it("uses four servers' allowance as soon as four servers have answered, before the request counters could show it", async () => {
    // Prepare
    const clock = new FakeClock();
    const b = requestBudget(clock);

    // Act: one answer from each server, each having seen one request.
    await fourServersAnswer(clock, b);

    // Assess
    expect(b.serverCount).toBe(4);
  });

  it("keeps four servers through windows in which it sent too little for the request counters to show a spread", async () => {
    // Prepare: four servers learned from their answers.
    const clock = new FakeClock();
    const b = requestBudget(clock);
    await fourServersAnswer(clock, b);
    const learned: number[] = [];

    // Act: a quiet spell, one request a window, each answered by a server that saw only it.
    for (let i = 0; i < 4; i++) {
      const call = await b.acquire({ kind: "read" });
      clock.time += 900;
      await call.settle(900, { burstRemaining: 999, server: `server-${i}` });
      learned.push(b.serverCount);
    }

    // Assess: one request per answer cannot show how requests spread; before, each read one server.
    expect(learned).toEqual([4, 4, 4, 4]);
  });

  it("counts the servers that answered the other processes sharing its budget, through the budget's row", async () => {
    // Prepare: two processes on one store; each hears from two of the four servers (the cookie only:
    // what is tested is the servers named, not the request counters).
    const clock = new FakeClock();
    const store = new MemoryBudgetStore();
    const make = () => new ThrottleBudget({ store, identity: "client", maxRequests: 1_000, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100 });
    const [a, b] = [make(), make()];
    const answer = async (p: ThrottleBudget, servers: string[]) => {
      const calls = [];
      for (let i = 0; i < servers.length; i++) calls.push(await p.acquire({ kind: "read" }));
      clock.time += 200;
      for (const [i, call] of calls.entries()) await call.settle(200, { server: servers[i] });
    };
    await answer(a, ["server-0", "server-1"]);
    await answer(b, ["server-2", "server-3"]);
    const alone = [a.serverCount, b.serverCount];

    // Act: each leases again (a lease reads the row and writes it back)
    await a.acquire({ kind: "read" });
    await b.acquire({ kind: "read" });
    await a.acquire({ kind: "read" });

    // Assess: two servers each on their own evidence; four each once the row carries the others'
    expect(alone).toEqual([2, 2]);
    expect([a.serverCount, b.serverCount]).toEqual([4, 4]);
    const { row } = await store.read(budgetKey("client"));
    expect(row.seen).toHaveLength(4);
    expect(row.seen!.flat().join(" ")).not.toContain("server-");

    // A process starting ten windows later: servers seen that long ago are no evidence.
    clock.time += 10_000;
    const later = make();
    await later.acquire({ kind: "read" });
    expect(later.serverCount).toBe(1);
  });

  it("never reads one server as more, however its answers' request counters look, when one server answers them all", async () => {
    // Prepare: counters that alone would read four servers (each answer shows a quarter of the requests).
    const clock = new FakeClock();
    const b = requestBudget(clock);
    const learned: number[] = [];

    // Act
    for (let round = 0; round < 10; round++) {
      const calls = [];
      for (let i = 0; i < 8; i++) calls.push(await b.acquire({ kind: "read" }));
      clock.time += 300;
      for (const call of calls) await call.settle(300, { burstRemaining: 1_000 - 2, server: "only-one" });
      learned.push(b.serverCount);
    }

    // Assess
    expect(Math.max(...learned)).toBe(1);
  });

  it("the transport tells the budget which server answered, from the service's Set-Cookie", async () => {
    // Prepare
    const servers: Array<string | undefined> = [];
    const budget: RequestBudget = { acquire: async () => ({ settle: async (_ms, options) => void servers.push(options?.server) }), penalize: async () => {} };
    const answer = () => {
      const headers = new Headers({ "content-type": "application/json" });
      headers.append("set-cookie", "ARRAffinity=abc123;Path=/;HttpOnly;Secure");
      headers.append("set-cookie", "ARRAffinitySameSite=abc123;Path=/;HttpOnly;SameSite=None;Secure");
      return new Response(JSON.stringify({ UserId: "u" }), { status: 200, headers });
    };
    const replies = [answer(), jsonResponse(200, { UserId: "u" })];
    const fetch = (async () => replies.shift()!) as typeof globalThis.fetch;
    const client = createDataverseClient({ instanceUrl: "https://org.crm4.dynamics.com", tokens: { getToken: async () => "tok" }, fetch, clock: new FakeClock(), random: () => 0, budget });

    // Act
    await client.whoAmI();
    await client.whoAmI();
    await new Promise((r) => setTimeout(r, 0));

    // Assess: the cookie's value names the server; no cookie, no server.
    expect(servers).toEqual(["abc123", undefined]);
  });
});
