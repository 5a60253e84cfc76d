import { describe, expect, it } from "vitest";
import { pendingBackoffMs } from "../../../shared/sync/engine.js";

describe("pending back-off across runs", () => {
  it("waits 5 minutes after the first failure, doubles with each attempt, and never more than a day", () => {
    const minutes = [1, 2, 3, 4, 5, 9, 40].map((attempts) => pendingBackoffMs(attempts) / 60_000);

    expect(minutes).toEqual([5, 10, 20, 40, 80, 1_280, 1_440]);
  });

  it("costs a record that fails for a week about a dozen attempts, not one per run of a 5-minute schedule", () => {
    let at = 0;
    let attempts = 0;
    while (at < 7 * 24 * 60 * 60_000) at += pendingBackoffMs(++attempts);
    expect(attempts).toBeLessThan(20);
  });
});
