import { describe, expect, it } from "vitest";
import { checkArrival, peerKey, retryAfterRealMs } from "../../bench/peers/peerKit.js";

describe("retryAfterRealMs", () => {
  it("waits exactly what Retry-After says, fractions included, in the emulated service's seconds", () => {
    // At time scale 0.15 a service second lasts 6.67 real seconds; no rounding up to a whole second.
    expect(retryAfterRealMs("0.35", 0.15)).toBeCloseTo(2333.33, 2);
    expect(retryAfterRealMs("2", 1)).toBe(2000);
    expect(retryAfterRealMs("0", 0.5)).toBe(0);
  });

  it("waits one service second when the header is missing or unreadable", () => {
    expect(retryAfterRealMs(null, 0.5)).toBe(2000);
    expect(retryAfterRealMs("soon", 1)).toBe(1000);
    expect(retryAfterRealMs("-3", 1)).toBe(1000);
  });
});

describe("checkArrival", () => {
  const row = (key: string) => ({ hlf_mentorid: key });

  it("holds when every record the peer sent is in the store once", () => {
    const rows = [row(peerKey("p", 0)), row(peerKey("p", 1)), row(peerKey("other", 0))];
    expect(checkArrival(rows, "p", 2)).toEqual({ arrived: 2, lost: 0, duplicated: 0, exactlyOnce: true });
  });

  it("counts a record the peer counted as written but the store lacks as lost, and extra rows of one key as duplicates", () => {
    const rows = [row(peerKey("p", 0)), row(peerKey("p", 0)), row(peerKey("p", 2))];
    expect(checkArrival(rows, "p", 3)).toEqual({ arrived: 2, lost: 1, duplicated: 1, exactlyOnce: false });
  });

  it("does not hold when more records arrived than the peer counted (it lost track of its own writes)", () => {
    const rows = [row(peerKey("p", 0)), row(peerKey("p", 1))];
    expect(checkArrival(rows, "p", 1).exactlyOnce).toBe(false);
  });
});
