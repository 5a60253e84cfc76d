import { describe, expect, it, vi } from "vitest";
import { ceilingRecordsPerSecond, ServiceProtection, type Admission } from "../../emulators/dataverse/throttle.js";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function refused(admission: Admission) {
  if (admission.admitted) throw new Error("expected a 429");
  return { ...admission.response, error: JSON.parse(admission.response.body!).error as { code: string; message: string } };
}

describe("ServiceProtection", () => {
  it("admits everything with zero latency when disabled (the default)", () => {
    const sp = new ServiceProtection({ maxRequests: 1, maxConcurrent: 1 }, clock().now);
    const results = [1, 2, 3].map(() => sp.admit({ userId: "u", kind: "single", operations: 1 }));
    expect(results.every((r) => r.admitted && r.latencyMs === 0 && r.executionMs === 0)).toBe(true);
  });

  it("answers 429 0x80072322 with Retry-After once the request limit is used up in the window", () => {
    // Prepare
    const c = clock();
    const sp = new ServiceProtection({ enabled: true, maxRequests: 3, windowSeconds: 300 }, c.now);
    for (let i = 0; i < 3; i++) {
      const a = sp.admit({ userId: "u", kind: "single", operations: 1 });
      if (a.admitted) a.release();
      c.advance(10_000);
    }
    // Act
    const response = refused(sp.admit({ userId: "u", kind: "single", operations: 1 }));
    // Assess: the oldest request (30 s ago) leaves the 300 s window in 270 s
    expect(response.status).toBe(429);
    expect(response.headers["retry-after"]).toBe("270");
    expect(response.error).toEqual({ code: "0x80072322", message: "Number of requests exceeded the limit of 3 over time window of 300 seconds." });
    expect(response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"]).toBe("0");
  });

  it("admits again once the oldest requests slide out of the window", () => {
    const c = clock();
    const sp = new ServiceProtection({ enabled: true, maxRequests: 2 }, c.now);
    sp.admit({ userId: "u", kind: "single", operations: 1 });
    sp.admit({ userId: "u", kind: "single", operations: 1 });
    expect(sp.admit({ userId: "u", kind: "single", operations: 1 }).admitted).toBe(false);
    c.advance(300_001);
    expect(sp.admit({ userId: "u", kind: "single", operations: 1 }).admitted).toBe(true);
  });

  it("keeps the limits per user", () => {
    const sp = new ServiceProtection({ enabled: true, maxRequests: 1 }, clock().now);
    sp.admit({ userId: "a", kind: "single", operations: 1 });
    expect(sp.admit({ userId: "a", kind: "single", operations: 1 }).admitted).toBe(false);
    expect(sp.admit({ userId: "b", kind: "single", operations: 1 }).admitted).toBe(true);
  });

  it("counts a batch as one request and charges its execution time as it is spent, answering 0x80072321", async () => {
    // Prepare: 1,000 ops x 10 ms = 10 s per batch against a 25 s budget; the three share one request's speed (one slot)
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const sp = new ServiceProtection({ enabled: true, maxExecutionMs: 25_000 }, () => Date.now());
      const batches = [1, 2, 3].map(() => sp.admit({ userId: "u", kind: "batch", operations: 1000 }));
      expect(batches.every((b) => b.admitted)).toBe(true);
      expect(sp.spent("u")).toBe(0); // admitted, not yet spent
      const done = Promise.all(batches.map((b) => b.admitted && b.run()));
      await vi.advanceTimersByTimeAsync(30_020);
      await done;
      // Act
      const response = refused(sp.admit({ userId: "u", kind: "batch", operations: 1000 }));
      // Assess
      expect(sp.spent("u")).toBe(30_000);
      expect(response.error.code).toBe("0x80072321");
      expect(response.error.message).toBe(
        "Combined execution time of incoming requests exceeded limit of 25,000  milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.",
      );
      // The 30 s were spent evenly from 0.02 s to 30.02 s: 5 s of them must leave the window, which
      // happens 305.02 s after the start, 275 s from now; at 275 s exactly the window holds the limit itself.
      expect(response.headers["retry-after"]).toBe("276");
      expect(response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"]).toBe("5997");
      expect(sp.stats()).toMatchObject({ requests: 3, operations: 3000, executionMs: 30_000 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("lets a user's requests on one server execute only as fast as the window's time allows, however long they are", async () => {
    // Prepare: 4,000 ms per 1-s window = 4 requests' worth; eight calls of 10 s each, sent at once (the window is 10x shorter than a call)
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const sp = new ServiceProtection({ enabled: true, windowSeconds: 1, maxRequests: 100, maxExecutionMs: 4_000, cost: { latencyMs: 0, bulkTargetMs: 10 } }, () => Date.now());
      const ended: number[] = [];
      const calls = Array.from({ length: 8 }, () => sp.admit({ userId: "u", kind: "bulk", operations: 1000 }));
      expect(calls.every((c) => c.admitted)).toBe(true);
      const runs = calls.map((c) => c.admitted && c.run().then(() => ended.push(Date.now() - 1_000_000)));
      // Act
      await vi.advanceTimersByTimeAsync(5_000);
      const midway = sp.admit({ userId: "u", kind: "single", operations: 1 });
      await vi.advanceTimersByTimeAsync(15_000);
      await Promise.all(runs);
      // Assess: eight at half speed; while they run, the window holds 4 s of the last second and refuses
      expect(ended).toEqual(Array(8).fill(20_000));
      expect(midway.admitted).toBe(false);
      if (!midway.admitted) expect(JSON.parse(midway.response.body!).error.code).toBe("0x80072321");
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps the limits per web server and routes by the ARRAffinity cookie, spreading requests without one", () => {
    // Prepare
    const sp = new ServiceProtection({ enabled: true, maxRequests: 1, servers: 3 }, clock().now);
    // Act: three requests without a cookie, then one pinned to the first answer's server
    const first = sp.route(undefined);
    const spread = [first, sp.route(undefined), sp.route(undefined)];
    const admitted = spread.map((r) => sp.admit({ userId: "u", kind: "single", operations: 1, server: r.server }));
    const cookie = first.setCookie![0].split(";")[0];
    const pinned = sp.route(`other=1; ${cookie}`);
    const again = sp.admit({ userId: "u", kind: "single", operations: 1, server: pinned.server });
    // Assess: each server took one request within its own limit of 1; the pinned one is refused by its server
    expect(spread.map((r) => r.server).sort()).toEqual([0, 1, 2]);
    expect(cookie).toMatch(/^ARRAffinity=[0-9a-f]{64}$/);
    expect(admitted.every((a) => a.admitted)).toBe(true);
    expect(pinned.server).toBe(first.server);
    expect(pinned.setCookie).toBeUndefined();
    expect(again.admitted).toBe(false);
    expect(sp.headers("u", pinned.server)["x-ms-ratelimit-burst-remaining-xrm-requests"]).toBe("0");
    expect(sp.stats().perServer).toEqual([1, 1, 1]);
  });

  it("counts a request as its server's from routing, so requests arriving together spread over the servers", () => {
    // Prepare: three servers, two of them each answering one request
    const sp = new ServiceProtection({ enabled: true, servers: 3 }, clock().now);
    const busy = [sp.route(undefined), sp.route(undefined)];
    // Act: three requests routed together, none admitted yet (their bodies and tokens still being read)
    const together = [sp.route(undefined), sp.route(undefined), sp.route(undefined)];
    // Assess: the idle server takes one, then the three are even again and the rest go round
    expect(busy.map((r) => r.server)).toEqual([0, 1]);
    expect(together.map((r) => r.server)).toEqual([2, 0, 1]);
    // Act: the answers leave their servers (twice is once); the next request goes where fewest are under way
    for (const r of [...busy, together[0], together[0]]) r.leave();
    // Assess: servers 0 and 1 hold one request each now, server 2 none
    expect(sp.route(undefined).server).toBe(2);
  });

  it("charges bulk Targets at a fifth of a batch operation", () => {
    const sp = new ServiceProtection({ enabled: true }, clock().now);
    const bulk = sp.admit({ userId: "u", kind: "bulk", operations: 100 });
    const batch = sp.admit({ userId: "u", kind: "batch", operations: 100 });
    const read = sp.admit({ userId: "u", kind: "single", operations: 1, method: "GET" });
    expect(bulk.admitted && bulk.executionMs).toBe(200);
    expect(batch.admitted && batch.executionMs).toBe(1000);
    expect(read.admitted && read.executionMs).toBe(5);
    expect(bulk.admitted && bulk.latencyMs).toBe(20);
  });

  it("fails at once above the concurrency limit with 0x80072326, and admits after a release", () => {
    // Prepare
    const sp = new ServiceProtection({ enabled: true, maxConcurrent: 52 }, clock().now);
    const held = Array.from({ length: 52 }, () => sp.admit({ userId: "u", kind: "single", operations: 1 }));
    // Act
    const response = refused(sp.admit({ userId: "u", kind: "single", operations: 1 }));
    // Assess
    expect(response.error).toEqual({ code: "0x80072326", message: "Number of concurrent requests exceeded the limit of 52." });
    expect(Number(response.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    const first = held[0];
    if (first.admitted) {
      first.release();
      first.release(); // a second release must not free another slot
    }
    expect(sp.admit({ userId: "u", kind: "single", operations: 1 }).admitted).toBe(true);
    expect(sp.admit({ userId: "u", kind: "single", operations: 1 }).admitted).toBe(false);
    expect(sp.stats().throttled).toEqual({ "0x80072322": 0, "0x80072321": 0, "0x80072326": 2 });
  });

  it("grows Retry-After when the client keeps retrying before it", () => {
    const c = clock();
    const sp = new ServiceProtection({ enabled: true, maxConcurrent: 1 }, c.now);
    sp.admit({ userId: "u", kind: "single", operations: 1 });
    const waits = [1, 2, 3, 4].map(() => {
      const wait = Number(refused(sp.admit({ userId: "u", kind: "single", operations: 1 })).headers["retry-after"]);
      c.advance(100);
      return wait;
    });
    expect(waits).toEqual([1, 2, 4, 8]);
  });

  it("does not grow Retry-After for a client that waited as told", () => {
    const c = clock();
    const sp = new ServiceProtection({ enabled: true, maxConcurrent: 1 }, c.now);
    sp.admit({ userId: "u", kind: "single", operations: 1 });
    const admission = sp.admit({ userId: "u", kind: "single", operations: 1 });
    const first = refused(admission);
    c.advance(admission.admitted ? 0 : admission.retryRealMs);
    const second = refused(sp.admit({ userId: "u", kind: "single", operations: 1 }));
    expect(second.headers["retry-after"]).toBe(first.headers["retry-after"]);
  });

  it("scales the window, costs and the real wait by timeScale but keeps Retry-After in simulated seconds", () => {
    // Prepare: with timeScale 60 the 300 s window lasts 5 real seconds
    const c = clock();
    const sp = new ServiceProtection({ enabled: true, maxRequests: 1, timeScale: 60 }, c.now);
    const admitted = sp.admit({ userId: "u", kind: "single", operations: 1 });
    // Act
    const refusal = sp.admit({ userId: "u", kind: "single", operations: 1 });
    const response = refused(refusal);
    c.advance(5001);
    const later = sp.admit({ userId: "u", kind: "single", operations: 1 });
    // Assess
    expect(admitted.admitted && admitted.latencyMs).toBeCloseTo(20 / 60);
    expect(response.headers["retry-after"]).toBe("300");
    expect(!refusal.admitted && refusal.retryRealMs).toBe(5000);
    expect(Object.keys(response.headers).filter((h) => h.startsWith("x-emulator"))).toEqual([]);
    expect(later.admitted).toBe(true);
  });

  it("puts the dop hint and both remaining-budget headers on every response", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const sp = new ServiceProtection({ enabled: true, dopHint: 12 }, () => Date.now());
    const batch = sp.admit({ userId: "u", kind: "batch", operations: 10 });
    expect(sp.headers("u")["x-ms-ratelimit-time-remaining-xrm-requests"]).toBe("1200000");
    const ran = batch.admitted && batch.run();
    await vi.advanceTimersByTimeAsync(120);
    await ran;
    const headers = sp.headers("u");
    vi.useRealTimers();
    expect(headers).toEqual({
      "x-ms-dop-hint": "12",
      "x-ms-ratelimit-burst-remaining-xrm-requests": "5999",
      "x-ms-ratelimit-time-remaining-xrm-requests": "1199900",
    });
  });
});

describe("ceilingRecordsPerSecond", () => {
  it("is bound by the request limit for single writes", () => {
    expect(ceilingRecordsPerSecond(undefined, "single", 1)).toBeCloseTo(20);
  });

  it("is bound by execution time for batches and bulk, with bulk five times a batch", () => {
    expect(ceilingRecordsPerSecond(undefined, "batch", 100)).toBeCloseTo(400);
    expect(ceilingRecordsPerSecond(undefined, "bulk", 100)).toBeCloseTo(2000);
    expect(ceilingRecordsPerSecond(undefined, "bulk", 1000)).toBeCloseTo(2000);
  });

  it("is bound by concurrency when requests are slow and the limit is low", () => {
    // 2 in flight x (20 + 10) ms per request => 66.7 requests/s
    expect(ceilingRecordsPerSecond({ maxConcurrent: 2, maxRequests: 1e9 }, "single", 1)).toBeCloseTo(2000 / 30);
  });

  it("scales with timeScale into real seconds", () => {
    expect(ceilingRecordsPerSecond({ timeScale: 60 }, "single", 1)).toBeCloseTo(1200);
  });
});
