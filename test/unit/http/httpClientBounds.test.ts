import { afterEach, describe, expect, it, vi } from "vitest";
import { classifyDataverseError } from "../../../shared/dataverse/classifyDataverseError.js";
import { ErrorCodes } from "../../../shared/errors.js";
import { systemClock } from "../../../shared/http/clock.js";
import { HttpClient } from "../../../shared/http/httpClient.js";
import type { HttpBounds } from "../../../shared/http/httpBounds.js";
import { FakeClock, jsonResponse, scriptedFetch } from "./fakes.js";

const url = "http://127.0.0.1/api/data/v9.2/contacts(1)";
const throttled = (retryAfter: string) => jsonResponse(429, { error: { code: "0x80072322", message: "Number of requests exceeded" } }, { "retry-after": retryAfter });

function client(fetch: typeof globalThis.fetch, clock: FakeClock, bounds: Partial<HttpBounds> = {}) {
  return new HttpClient({ fetch, clock, classify: classifyDataverseError, random: () => 0, policy: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 }, bounds });
}

describe("HttpClient and Retry-After", () => {
  it("waits a Retry-After that fits the call, exactly", async () => {
    // Prepare
    const clock = new FakeClock();
    const fetch = scriptedFetch([throttled("20"), jsonResponse(204, null)]);

    // Act
    const res = await client(fetch, clock).send({ method: "PATCH", url, body: "{}" });

    // Assess
    expect(res.status).toBe(204);
    expect(clock.sleeps).toEqual([20_000]);
  });

  it("fails at once as RETRY_AFTER_TOO_LONG when Retry-After passes maxRetryAfterMs, sleeping not at all", async () => {
    const clock = new FakeClock();
    const fetch = scriptedFetch([throttled("600")]);

    const err = await client(fetch, clock, { maxRetryAfterMs: 60_000 }).send({ method: "PATCH", url, body: "{}" }).catch((e) => e);

    expect(err).toMatchObject({ kind: "throttled", code: ErrorCodes.RetryAfterTooLong, retryAfterMs: 600_000, status: 429, remoteCode: "0x80072322" });
    expect(err.message).toContain("asked to wait 600 s");
    expect(err.message).toContain("options.http.maxRetryAfterMs (60 s)");
    expect(clock.sleeps).toEqual([]);
    expect(fetch.calls).toHaveLength(1);
  });

  it("fails a call that does not retry as RETRY_AFTER_TOO_LONG too, not retryable, so no caller re-queues it for that long", async () => {
    const clock = new FakeClock();
    const fetch = scriptedFetch([throttled("1e9")]);

    const err = await client(fetch, clock).send({ method: "POST", url, body: "{}" }, { retry: false }).catch((e) => e);

    expect(err).toMatchObject({ kind: "throttled", code: ErrorCodes.RetryAfterTooLong, retryable: false });
    expect(clock.sleeps).toEqual([]);
    expect(fetch.calls).toHaveLength(1);
  });

  it("fails as RETRY_AFTER_TOO_LONG when Retry-After passes what is left of the call's total", async () => {
    const clock = new FakeClock();
    const fetch = scriptedFetch([throttled("30"), throttled("30")]);

    const err = await client(fetch, clock, { totalTimeoutMs: 45_000 }).send({ method: "GET", url }).catch((e) => e);

    expect(err).toMatchObject({ code: ErrorCodes.RetryAfterTooLong });
    expect(err.message).toContain("options.http.totalTimeoutMs");
    expect(clock.sleeps).toEqual([30_000]);
    expect(fetch.calls).toHaveLength(2);
  });

  it("retries at once on a negative Retry-After, and with back-off on an unparsable one", async () => {
    const clock = new FakeClock();
    const fetch = scriptedFetch([throttled("-30"), throttled("later, please"), jsonResponse(200, {})]);

    await client(fetch, clock).send({ method: "GET", url });

    expect(clock.sleeps).toEqual([0, 0]);
    expect(fetch.calls).toHaveLength(3);
  });

  it("gives up with the last error once the next back-off would pass the call's total", async () => {
    const clock = new FakeClock();
    const fetch = scriptedFetch([jsonResponse(503, {}), jsonResponse(503, {}), jsonResponse(503, {})]);
    const jittered = new HttpClient({ fetch, clock, classify: classifyDataverseError, random: () => 0.99, policy: { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 10_000 }, bounds: { totalTimeoutMs: 2_500 } });

    const err = await jittered.send({ method: "GET", url }).catch((e) => e);

    expect(err).toMatchObject({ kind: "transient", code: ErrorCodes.ServerBusy, status: 503, details: { attempts: 2, totalTimeoutMs: 2_500 } });
    expect(err.message).toContain("options.http.totalTimeoutMs");
    expect(fetch.calls).toHaveLength(2);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(2_500);
  });
});

describe("HttpClient total bound and its gate", () => {
  it("does not count time waiting at the gate (the throttle budget) against the call's total", async () => {
    // Prepare: the gate holds the attempt for 10 minutes of clock time, far over the 1 s total.
    const clock = new FakeClock();
    const fetch = scriptedFetch([jsonResponse(200, { ok: true })]);
    const gate = { run: async <T>(fn: () => Promise<T>) => (await clock.sleep(600_000), fn()) };
    const gated = new HttpClient({ fetch, clock, classify: classifyDataverseError, gate, bounds: { totalTimeoutMs: 1_000 } });

    // Act
    const res = await gated.send({ method: "GET", url });

    // Assess
    expect(res.json()).toEqual({ ok: true });
  });
});

describe("systemClock.sleep", () => {
  afterEach(() => vi.useRealTimers());

  it("sleeps a wait longer than a timer holds in full, instead of Node's 1 ms overflow", async () => {
    // Prepare
    vi.useFakeTimers();
    let done = false;
    const long = 2 ** 31 + 60_000;

    // Act
    const sleeping = systemClock.sleep(long).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1_000);
    const earlyDone = done;
    await vi.advanceTimersByTimeAsync(long);
    await sleeping;

    // Assess
    expect(earlyDone).toBe(false);
    expect(done).toBe(true);
  });
});
