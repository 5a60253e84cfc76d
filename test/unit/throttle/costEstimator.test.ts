import { describe, expect, it } from "vitest";
import { CostEstimator } from "../../../shared/throttle/costEstimator.js";

const bulk = (records: number) => ({ kind: "bulk" as const, records });

describe("CostEstimator", () => {
  it("does not let a small bulk call set the price of a large one", () => {
    // Prepare: a call of 10 records is mostly fixed overhead (27 ms per record), one of 500 is not (13.7 ms).
    const estimator = new CostEstimator(6_000);
    estimator.observe(bulk(10), 270);

    // Act
    const largeBeforeSeen = estimator.estimate(bulk(500));
    estimator.observe(bulk(500), 6_850);

    // Assess: extrapolating 27 ms × 500 would be 13.5 s (half the real rate); the cold guess caps it,
    // then the large class learns its own price and scales within its class; the small class keeps its own.
    expect(largeBeforeSeen).toBe(6_000);
    expect(estimator.estimate(bulk(500))).toBe(6_850);
    expect(estimator.estimate(bulk(400))).toBeCloseTo(5_480, 6);
    expect(estimator.estimate(bulk(10))).toBe(270);
  });

  it("borrows the nearest observed class's price for an unseen class, uncapped from a larger class", () => {
    // Prepare
    const estimator = new CostEstimator(5_000);
    estimator.observe(bulk(100), 2_000);

    // Act + Assess: 50 records borrow 20 ms each from the class of 100 (a downward borrow is not capped);
    // 1,000 records borrow it too but never more than the cold guess; other kinds are still cold.
    expect(estimator.estimate(bulk(50))).toBe(1_000);
    expect(estimator.estimate(bulk(20))).toBe(400);
    expect(estimator.estimate(bulk(1_000))).toBe(5_000);
    expect(estimator.estimate(bulk(200))).toBe(4_000);
    expect(estimator.estimate({ kind: "batch", records: 100 })).toBe(5_000);
    expect(estimator.estimate({ kind: "read" })).toBe(5_000);
  });

  it("follows a slower server with a moving average per class", () => {
    // Prepare
    const estimator = new CostEstimator(10_000);
    estimator.observe(bulk(500), 5_000);

    // Act
    for (let i = 0; i < 20; i++) estimator.observe(bulk(500), 8_000);

    // Assess
    expect(Math.abs(estimator.estimate(bulk(500)) - 8_000)).toBeLessThan(10);
  });
});
