import { describe, expect, it } from "vitest";
import type { RequestBudget } from "../../../shared/dataverse/dataverseTransport.js";
import { spreadChunk } from "../../../shared/dataverse/writeMany.js";
import type { BulkWrite } from "../../../shared/ports.js";
import { MemoryBudgetStore } from "../../../shared/throttle/budgetStore.js";
import { ThrottleBudget } from "../../../shared/throttle/throttleBudget.js";
import { FakeClock, jsonResponse, networkReset, type RecordedCall } from "../http/fakes.js";
import { clientWith, guid } from "./support.js";

const creates = (n: number): BulkWrite[] => Array.from({ length: n }, (_, i) => ({ ref: `c-${i}`, kind: "create", body: { firstname: `F${i}` } }));

/** A budget that admits everything and says the servers execute `executions` calls at once. */
const budgetOf = (executions: number): RequestBudget => ({ acquire: async () => {}, penalize: async () => {}, executionsAtOnce: () => executions });

/** CreateMultiple answers with one id per Target. */
const created = (call: RecordedCall) => jsonResponse(200, { Ids: (JSON.parse(call.body!) as { Targets: unknown[] }).Targets.map((_, i) => guid(i + 1)) });

describe("spreadChunk", () => {
  it("spreads a message over as many calls as the servers execute beyond the lanes, never below 100 records a call", () => {
    // Four servers (16 at once) over 12 lanes: two calls; eight servers (32): three.
    expect(spreadChunk(500, 16, 12)).toBe(250);
    expect(spreadChunk(500, 32, 12)).toBe(167);
    expect(spreadChunk(500, 64, 12)).toBe(100);
    expect(spreadChunk(150, 16, 12)).toBe(100);
  });

  it("leaves the chunk alone while the lanes hold what the servers execute, or without lanes", () => {
    expect(spreadChunk(500, 4, 12)).toBe(Number.POSITIVE_INFINITY);
    expect(spreadChunk(500, 12, 12)).toBe(Number.POSITIVE_INFINITY);
    expect(spreadChunk(500, 16, undefined)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("writeMany over a budget that learned several servers", () => {
  it("sends one message's 500 creates as two CreateMultiple calls of 250 when four servers execute more than its 12 lanes", async () => {
    // Prepare
    const { client, fetch } = clientWith([created, created, created], { budget: budgetOf(16), lanes: 12 });

    // Act
    const results = await client.writeMany("contacts", "contact", creates(500));

    // Assess
    expect(results.every((r) => r.ok)).toBe(true);
    expect(fetch.calls.map((c) => (JSON.parse(c.body!) as { Targets: unknown[] }).Targets.length)).toEqual([250, 250]);
  });

  it("settles a spread message whose second call's connection broke by an upsert of that call's ids only, each record once", async () => {
    // Prepare: 500 creates with their ids; the first call is answered, the second breaks (it may have run).
    const withIds = creates(500).map((w, i) => ({ ...w, id: guid(1_000 + i) }));
    const createdWithOwnIds = (call: RecordedCall) => jsonResponse(200, { Ids: (JSON.parse(call.body!) as { Targets: { contactid: string }[] }).Targets.map((t) => t.contactid) });
    const { client, fetch } = clientWith([createdWithOwnIds, networkReset(), new Response(null, { status: 204 })], { budget: budgetOf(16), lanes: 12 });

    // Act
    const results = await client.writeMany("contacts", "contact", withIds);

    // Assess: every record done once under its own id; the broken call's 250 go again as an upsert by id, never as a second create.
    expect(results.map((r) => r.ok && r.id)).toEqual(withIds.map((w) => w.id));
    const sent = fetch.calls.map((c) => [c.url.split(".").pop(), (JSON.parse(c.body!) as { Targets: unknown[] }).Targets.length]);
    expect(sent).toEqual([["CreateMultiple", 250], ["CreateMultiple", 250], ["UpsertMultiple", 250]]);
  });

  it("keeps one call of 500 at one server (four at once fit in the lanes)", async () => {
    const { client, fetch } = clientWith([created, created], { budget: budgetOf(4), lanes: 12 });

    await client.writeMany("contacts", "contact", creates(500));

    expect(fetch.calls.map((c) => (JSON.parse(c.body!) as { Targets: unknown[] }).Targets.length)).toEqual([500]);
  });
});

describe("ThrottleBudget.executionsAtOnce", () => {
  it("is one server's execution per window over the window, times the servers learned", async () => {
    // Prepare: 4,000 ms of execution per 1,000-ms window (four at once per server).
    const clock = new FakeClock();
    const b = new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 1_000, maxExecutionMs: 4_000, windowMs: 1_000, leaseSize: 1, clock, windowMarginMs: 100 });
    const before = b.executionsAtOnce();

    // Act: four servers answer, each named by its ARRAffinity cookie.
    const calls = [];
    for (let i = 0; i < 4; i++) calls.push(await b.acquire({ kind: "read" }));
    clock.time += 20;
    for (const [i, call] of calls.entries()) await call.settle(20, { server: `server-${i}` });

    // Assess
    expect(before).toBe(4);
    expect(b.serverCount).toBe(4);
    expect(b.executionsAtOnce()).toBe(16);
  });

  it("is 1 when the budget counts requests only", () => {
    const b = new ThrottleBudget({ store: new MemoryBudgetStore(), identity: "client", maxRequests: 1_000, windowMs: 1_000, clock: new FakeClock() });

    expect(b.executionsAtOnce()).toBe(1);
  });
});
