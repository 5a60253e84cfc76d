import { describe, expect, it } from "vitest";
import { normaliseSchedule } from "../../../shared/config/schedule.js";

describe("normaliseSchedule", () => {
  it("keeps a valid six-field NCRONTAB schedule", () => {
    expect(normaliseSchedule("0 0 2 * * *")).toEqual({ value: "0 0 2 * * *" });
    expect(normaliseSchedule(" 0  */5 * * * MON-FRI ")).toEqual({ value: "0 */5 * * * MON-FRI" });
  });

  it("adds second 0 to a five-field cron", () => {
    expect(normaliseSchedule("15 3 * * 0")).toEqual({ value: "0 15 3 * * 0" });
  });

  it("rejects other field counts, naming the count", () => {
    const result = normaliseSchedule("0 0 2 * * * 2030");
    expect(result).toEqual({ problem: expect.stringMatching(/^expected an NCRONTAB schedule of 6 fields.*got "0 0 2 \* \* \* 2030" \(7 fields\)$/) });
  });

  it("rejects out-of-range values with croner's reason", () => {
    expect(normaliseSchedule("61 0 2 * * *")).toEqual({ problem: expect.stringContaining("Invalid value for second: 61") });
  });

  it("rejects croner-only syntax the Functions host does not understand", () => {
    for (const expression of ["0 0 2 L * *", "0 0 2 * * 5#3", "0 0 2 15W * *", "0 0 2 ? * *"]) {
      expect(normaliseSchedule(expression), expression).toEqual({ problem: expect.stringContaining("syntax the Functions host does not support") });
    }
  });
});
