import { describe, expect, it } from "vitest";
import { stormFigures } from "../../bench/storm.js";

// Windows of 1,000 real ms at time scale 1 (a real second is a simulated one); the storm runs from 3 s to 8 s.
const timeline = (ours: { at: number; status: number }[], commits: number[]) => ({
  ours, commits, startAt: 0, stormStart: 3_000, stormEnd: 8_000, ourEnd: 12_000, windowRealMs: 1_000, timeScale: 1, preWindows: 3,
});
const every = (from: number, to: number, stepMs: number) => Array.from({ length: Math.ceil((to - from) / stepMs) }, (_, i) => from + i * stepMs);

describe("stormFigures", () => {
  it("settles when the last window with 5 % or more of our requests refused has passed, and recovers at 90 % of the rate before", () => {
    // Prepare: one request each 100 ms, refused from 3 s to 5 s; no records committed from 3 s to 6 s
    const ours = every(0, 12_000, 100).map((at) => ({ at, status: at >= 3_000 && at < 5_000 ? 429 : 200 }));
    const commits = every(0, 12_000, 10).filter((at) => at < 3_000 || at >= 6_000);

    // Act
    const f = stormFigures(timeline(ours, commits));

    // Assess: the window ending at 5.5 s still holds the 429 at 4.9 s; the one ending at 6 s does not.
    // The first window after the storm (ending 8.5 s) is back at 100 records.
    expect(f.settleS).toBe(2.5);
    expect(f.requestsAfterSettle).toBe(24);
    expect(f.recoverS).toBe(0.5);
    expect(f.throttledShare).toBeCloseTo(20 / 50, 9);
    expect(f.beforePerWindow).toBe(100);
    expect(f.worstPerWindow).toBe(0);
    expect(f.stormS).toBe(5);
  });

  it("leaves settleS out when our share is still 5 % or more at the storm's end, and recoverS when our load ends first", () => {
    const ours = every(0, 9_000, 100).map((at) => ({ at, status: at >= 3_000 && at < 8_000 ? 429 : 200 }));
    const commits = every(0, 3_000, 10);

    const f = stormFigures({ ...timeline(ours, commits), ourEnd: 9_000 });

    expect(f.settleS).toBeUndefined();
    expect(f.recoverS).toBeUndefined();
  });

  it("does not take the end of our load during the storm for settling", () => {
    // Refused from 3 s until our load ends at 6 s, inside the storm: the empty windows after it prove nothing
    const ours = every(0, 6_000, 100).map((at) => ({ at, status: at >= 3_000 ? 429 : 200 }));

    const f = stormFigures({ ...timeline(ours, every(0, 3_000, 10)), ourEnd: 6_000 });

    expect(f.settleS).toBeUndefined();
  });

  it("does not take a quiet stretch at the storm's end for settling: a share below 5 % takes 20 requests to show", () => {
    // Prepare: two requests a window through the storm, one of them refused, until 6.5 s; then one
    // request, answered, at 7.9 s. Windows without a request are skipped, so the last window with
    // one reads 0 %.
    const during = every(3_000, 6_500, 500).map((at, i) => ({ at, status: i % 2 ? 429 : 200 }));
    const ours = [...every(0, 3_000, 100).map((at) => ({ at, status: 200 })), ...during, { at: 7_900, status: 200 }];

    // Act
    const f = stormFigures(timeline(ours, every(0, 12_000, 10)));

    // Assess: one request after the last window at 5 % or more is no evidence of a share below it.
    expect(f.requestsAfterSettle).toBe(1);
    expect(f.settleS).toBeUndefined();
  });

  it("settles at 0 when our requests were never refused", () => {
    const ours = every(0, 12_000, 100).map((at) => ({ at, status: 200 }));
    const f = stormFigures(timeline(ours, every(0, 12_000, 10)));

    expect(f.settleS).toBe(0);
    expect(f.recoverS).toBe(0.5);
  });
});
