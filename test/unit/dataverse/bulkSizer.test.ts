import { describe, expect, it } from "vitest";
import { BulkSizer } from "../../../shared/dataverse/bulkSizer.js";

describe("BulkSizer", () => {
  it("halves down to the minimum and grows back after successes in a row", () => {
    const sizer = new BulkSizer(100, 10, 3);

    sizer.shrink();
    sizer.shrink();
    sizer.shrink();
    sizer.shrink();
    const floor = sizer.size;
    sizer.succeeded();
    sizer.succeeded();
    const beforeThird = sizer.size;
    sizer.succeeded();

    expect(floor).toBe(10);
    expect(beforeThird).toBe(10);
    expect(sizer.size).toBe(20);
  });

  it("never exceeds the configured size nor 1,000", () => {
    const sizer = new BulkSizer(5_000);
    for (let i = 0; i < 10; i++) sizer.succeeded();

    expect(sizer.size).toBe(1_000);
  });
});
