import { describe, expect, it } from "vitest";
import { burstLatency, percentile } from "../../bench/webhookLatency.js";

const write = (id: string, firstName: string, at: number, status = 200, method = "PATCH") => ({ method, path: `/sync/mentor/${id}`, body: { data: { firstName } }, status, at });

describe("burstLatency", () => {
  it("takes each edit's latency from the first successful app write of that mentor carrying the edit's value", () => {
    // Prepare: two edits at t=1000; the app saw a refused write, a stale value and then the edit for m-1, one write for m-2
    const edits = [{ id: "m-1", value: "A", at: 1_000 }, { id: "m-2", value: "B", at: 1_000 }];
    const requests = [
      write("m-1", "A", 1_100, 429),
      write("m-1", "old", 1_150),
      write("m-1", "A", 1_300),
      write("m-1", "A", 1_900),
      write("m-2", "B", 1_050),
      { method: "GET", path: "/sync/mentor/m-2", body: undefined, status: 200, at: 1_010 },
    ];

    // Act
    const b = burstLatency(10, edits, requests);

    // Assess: 300 ms for m-1 (not the refused or stale writes, not the later one), 50 ms for m-2
    expect(b).toMatchObject({ perSecond: 10, sent: 2, delivered: 2, p50Ms: 50, p99Ms: 300, maxMs: 300 });
  });

  it("counts an edit whose write never reached the app as not delivered, and ignores writes from before the edit", () => {
    const edits = [{ id: "m-1", value: "A", at: 5_000 }];
    const b = burstLatency(100, edits, [write("m-1", "A", 4_000)]);

    expect(b.delivered).toBe(0);
    expect(Number.isNaN(b.p99Ms)).toBe(true);
  });
});

describe("percentile", () => {
  it("is the nearest-rank value of sorted data", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99), percentile(values, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
  });
});
