import { describe, expect, it } from "vitest";
import { aggregateRuns, median, spreadLines } from "../../bench/runs.js";

describe("aggregateRuns", () => {
  it("reports each numeric figure as the median of the runs with its smallest and largest value", () => {
    // Prepare: three runs whose figures differ
    const runs = [
      { records: 2010, throughput: { d365sync: 280, bestPeer: 290 }, ratio: { vsBestPeer: 0.97 } },
      { records: 2010, throughput: { d365sync: 300, bestPeer: 250 }, ratio: { vsBestPeer: 1.2 } },
      { records: 2010, throughput: { d365sync: 290, bestPeer: 270 }, ratio: { vsBestPeer: 1.07 } },
    ];

    // Act
    const { median: m, spread } = aggregateRuns(runs);

    // Assess: medians per figure, not the figures of one run
    expect(m).toEqual({ records: 2010, throughput: { d365sync: 290, bestPeer: 270 }, ratio: { vsBestPeer: 1.07 } });
    expect(spread).toEqual({ records: [2010, 2010], throughput: { d365sync: [280, 300], bestPeer: [250, 290] }, ratio: { vsBestPeer: [0.97, 1.2] } });
    expect(spreadLines(m, spread)).toContain("throughput.bestPeer: 270 (250–290)");
  });

  it("keeps 'exactly once' only when every run had it, and counts a figure a run did not reach as larger than any", () => {
    // Prepare
    const runs = [
      { exactlyOnce: { bestPeer: true }, storm: { settleS: 2, recoverS: 1 } },
      { exactlyOnce: { bestPeer: false }, storm: {} },
      { exactlyOnce: { bestPeer: true }, storm: { settleS: 4 }, webhook: undefined },
    ];

    // Act
    const { median: m, spread, notMeasured } = aggregateRuns(runs);

    // Assess: one run with a duplicate is enough to fail; a storm that did not settle in one run counts
    // as slower than the others (median 4, not 3); not recovered in two of three runs: not recovered
    expect(m.exactlyOnce).toEqual({ bestPeer: false });
    expect(m.storm).toEqual({ settleS: 4 });
    expect(spread.storm).toEqual({ settleS: [2, 4], recoverS: [1, 1] });
    expect(notMeasured).toEqual({ "storm.settleS": 1, "storm.recoverS": 2 });
    expect("webhook" in m).toBe(false);
  });
});

describe("median", () => {
  it("takes the middle value of an odd count and the mean of the middle two of an even one", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});
