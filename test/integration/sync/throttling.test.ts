import { afterEach, describe, expect, it } from "vitest";
import type { Admission, AdmitRequest } from "../../emulators/dataverse/throttle.js";
import { demoConfig, startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { scaledClock } from "../../support/scaledClock.js";
import { addMentors, contactsByMentorId, duplicatesOf } from "./faultFixtures.js";

interface Refusal {
  at: number;
  userId: string;
  retryRealMs: number;
}

/** Records every 429 of the emulator's service protection with the real-time wait it advertised. */
function recordRefusals(h: SyncHarness): Refusal[] {
  const refusals: Refusal[] = [];
  const throttle = h.stack.dataverse.throttle;
  const admit = throttle.admit.bind(throttle);
  throttle.admit = (req: AdmitRequest): Admission => {
    const admission = admit(req);
    if (!admission.admitted) {
      refusals.push({ at: Date.now(), userId: req.userId, retryRealMs: admission.retryRealMs });
    }
    return admission;
  };
  return refusals;
}

/** When the product's Dataverse requests start, and when each 429 came back with its real-time wait (Retry-After seconds at this time scale). */
function observeWire(timeScale: number) {
  const started: number[] = [];
  const throttledAt: { at: number; waitMs: number }[] = [];
  const observed: typeof fetch = async (input, init) => {
    started.push(Date.now());
    const res = await fetch(input, init);
    if (res.status === 429) throttledAt.push({ at: Date.now(), waitMs: (Number(res.headers.get("retry-after")) * 1000) / timeScale });
    return res;
  };
  return { started, throttledAt, fetch: observed };
}

/** Small write messages so a few hundred records need many bulk calls. */
function smallChunks(chunkSize: number) {
  const config = demoConfig();
  return { ...config, options: { ...(config.options ?? {}), chunkSize } };
}

describe("sync under Dataverse service protection (429)", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("lands every record exactly once and never retries before Retry-After under a 429 storm", async () => {
    // Prepare: 3 requests per 1-s window, with the service's time 5x faster (the window lasts 0.2 real
    // seconds). The product sees the service's time only through its Dataverse client's Clock, which
    // runs as fast as the emulator's: a Retry-After of 1 s is a wait of 0.2 real seconds.
    const wire = observeWire(5);
    h = await startSyncHarness({
      config: smallChunks(20),
      dataverse: { throttle: { enabled: true, timeScale: 5, windowSeconds: 1, maxRequests: 3 } },
      dataverseFetch: wire.fetch,
      dataverseClock: scaledClock(5),
    });
    const added = addMentors(h, 240);
    const refusals = recordRefusals(h);

    // Act
    const summary = await h.cycle();

    // Assess: the run succeeded although the server refused many requests.
    expect(refusals.length).toBeGreaterThan(0);
    expect(summary.failures).toEqual([]);
    expect(summary.status).toBe("succeeded");
    const contacts = contactsByMentorId(h);
    expect(duplicatesOf(contacts)).toEqual([]);
    for (const id of added) expect(contacts.get(id)).toBe(1);
    expect(contacts.size).toBe(h.stack.app.list("mentor").length);
    // Each refused request came back only after the real-time wait advertised with its 429. The log
    // records a refusal as soon as it is made, so the n-th 429 in the log is the n-th refusal.
    const log = h.stack.dataverse.log.entries().filter((e) => !e.inBatch);
    const throttled = log.filter((e) => e.status === 429);
    expect(throttled.length).toBe(refusals.length);
    throttled.forEach((refused, n) => {
      const refusal = refusals[n];
      expect(refusal.userId).toBe(refused.userId);
      const retry = log.find((e) => e.at >= refusal.at && e !== refused && e.method === refused.method && e.path === refused.path && e.body === refused.body);
      expect(retry, `a retry of ${refused.method} ${refused.path}`).toBeDefined();
      // 1 ms of slack: Date.now() granularity on both ends.
      expect(retry!.at).toBeGreaterThanOrEqual(refusal.at + refusal.retryRealMs - 1);
    });
    // And once a 429 came back, the process sent nothing at all until its Retry-After had passed: one
    // 429 holds back every request, not only the throttled one (10 ms covers the hand-over to the budget).
    expect(wire.throttledAt.length).toBe(refusals.length);
    const startedDuringWaits = wire.throttledAt.flatMap((t) => wire.started.filter((s) => s > t.at + 10 && s < t.at + t.waitMs));
    expect(startedDuringWaits).toEqual([]);
  });

  it("waits out scripted 429s with Retry-After: 1 and writes the chunk once", async () => {
    // Prepare
    h = await startSyncHarness();
    const added = addMentors(h, 30);
    h.stack.dataverse.faults.add({ method: "POST", path: "contacts/Microsoft.Dynamics.CRM.CreateMultiple", status: 429, code: "0x80072322", retryAfterSeconds: 1, count: 2 });

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("succeeded");
    const creates = h.stack.dataverse.log.entries().filter((e) => e.path.endsWith("contacts/Microsoft.Dynamics.CRM.CreateMultiple"));
    expect(creates.map((e) => e.status)).toEqual([429, 429, 200]);
    expect(creates[1].at - creates[0].at).toBeGreaterThanOrEqual(1000);
    expect(creates[2].at - creates[1].at).toBeGreaterThanOrEqual(1000);
    const contacts = contactsByMentorId(h);
    expect(duplicatesOf(contacts)).toEqual([]);
    for (const id of added) expect(contacts.get(id)).toBe(1);
  });
});
