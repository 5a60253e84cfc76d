import { describe, expect, it } from "vitest";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import { defaultRetryPolicy, retryDelay } from "../../../shared/http/retryPolicy.js";

const transient = new SyncError("transient", ErrorCodes.ServerBusy, "503");
const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

describe("retryDelay", () => {
  it("stops for errors that are not retryable", () => {
    const permanent = new SyncError("permanent", ErrorCodes.Rejected, "bad");
    const conflict = new SyncError("conflict", ErrorCodes.Concurrency, "412");

    expect(retryDelay(policy, 1, permanent, () => 0.5)).toBeNull();
    expect(retryDelay(policy, 1, conflict, () => 0.5)).toBeNull();
  });

  it("stops once maxAttempts attempts have been made", () => {
    expect(retryDelay(policy, 3, transient, () => 0.5)).not.toBeNull();
    expect(retryDelay(policy, 4, transient, () => 0.5)).toBeNull();
  });

  it("keeps full jitter within the exponential bound of each attempt", () => {
    const low = [1, 2, 3].map((a) => retryDelay(policy, a, transient, () => 0));
    const high = [1, 2, 3].map((a) => retryDelay(policy, a, transient, () => 0.9999999));

    expect(low).toEqual([0, 0, 0]);
    expect(high[0]).toBeLessThan(100);
    expect(high[1]).toBeLessThan(200);
    expect(high[2]).toBeLessThan(400);
    expect(high[2]).toBeGreaterThanOrEqual(399);
  });

  it("caps the back-off at maxDelayMs", () => {
    const long = { maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1_000 };

    expect(retryDelay(long, 15, transient, () => 0.9999999)).toBeLessThan(1_000);
    expect(retryDelay(long, 15, transient, () => 0.9999999)).toBeGreaterThanOrEqual(999);
  });

  it("never waits less than Retry-After and adds jitter on top", () => {
    const throttled = new SyncError("throttled", ErrorCodes.Throttled, "429", { retryAfterMs: 5_000 });

    expect(retryDelay(policy, 1, throttled, () => 0)).toBe(5_000);
    expect(retryDelay(policy, 2, throttled, () => 0.5)).toBe(5_100);
  });

  it("defaults to five attempts from 500 ms up to 30 s", () => {
    expect(defaultRetryPolicy).toEqual({ maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 });
  });
});
