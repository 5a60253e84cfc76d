import { describe, expect, it } from "vitest";
import { SyncError } from "../../../shared/errors.js";
import { casBackoffMs, retryOnConcurrency } from "../../../shared/state/casRetry.js";

const stale = () => new SyncError("conflict", "CONCURRENCY", "stale");

describe("retryOnConcurrency", () => {
  it("retries a lost ETag race until the write lands, sleeping a jittered back-off between tries", async () => {
    const sleeps: number[] = [];
    let calls = 0;

    const result = await retryOnConcurrency("run r1", async () => {
      calls += 1;
      if (calls < 3) throw stale();
      return "done";
    }, { sleep: async (ms) => { sleeps.push(ms); }, random: () => 0.5 });

    expect(result).toBe("done");
    expect(calls).toBe(3);
    expect(sleeps).toEqual([casBackoffMs(1, () => 0.5), casBackoffMs(2, () => 0.5)]);
  });

  it("gives up after the bounded number of attempts with CONCURRENCY", async () => {
    let calls = 0;

    await expect(retryOnConcurrency("run r1", async () => { calls += 1; throw stale(); }, { maxAttempts: 4, sleep: async () => {} }))
      .rejects.toMatchObject({ code: "CONCURRENCY", message: expect.stringContaining("4 attempts") });
    expect(calls).toBe(4);
  });

  it("does not retry other errors", async () => {
    let calls = 0;
    const boom = new SyncError("transient", "NETWORK", "reset");

    await expect(retryOnConcurrency("x", async () => { calls += 1; throw boom; }, { sleep: async () => {} })).rejects.toBe(boom);
    expect(calls).toBe(1);
  });
});

describe("casBackoffMs", () => {
  it("grows with the attempt and stays under the cap", () => {
    expect(casBackoffMs(1, () => 0.999)).toBeLessThan(casBackoffMs(4, () => 0.999));
    expect(casBackoffMs(30, () => 0.999)).toBeLessThanOrEqual(250);
    expect(casBackoffMs(3, () => 0)).toBe(0);
  });
});
