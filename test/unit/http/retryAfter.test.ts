import { describe, expect, it } from "vitest";
import { classifyAppError } from "../../../shared/app/classifyAppError.js";
import { classifyDataverseError } from "../../../shared/dataverse/classifyDataverseError.js";
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from "../../../shared/http/retryAfter.js";

const now = Date.parse("2026-03-01T12:00:00Z");

describe("parseRetryAfter", () => {
  it.each([
    ["120", 120_000],
    ["1.5", 1_500],
    [" 7 ", 7_000],
    ["0", 0],
  ])("reads delay-seconds %j as %i ms", (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });

  it("reads an HTTP date as the time until it, from the given clock time", () => {
    expect(parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now)).toBe(30_000);
  });

  it("treats a negative wait and a date in the past as no wait", () => {
    expect(parseRetryAfter("-5", now)).toBe(0);
    expect(parseRetryAfter("Sat, 28 Feb 2026 12:00:00 GMT", now)).toBe(0);
  });

  it("clamps an absurd wait (1e9 s, a date years ahead) to a day, so no timer overflows", () => {
    expect(parseRetryAfter("1e9", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("Fri, 01 Mar 2247 12:00:00 GMT", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBeLessThan(2 ** 31 - 1);
  });

  it.each(["", "   ", "soon", "NaN", "Infinity", "12abc", "0x10"])("ignores the unparsable value %j", (header) => {
    expect(parseRetryAfter(header, now)).toBeUndefined();
  });

  it("ignores an absent header", () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("Retry-After in the classifiers", () => {
  const req = { method: "GET", url: "https://org.crm.dynamics.com/api/data/v9.2/contacts" };
  const throttled = (retryAfter: string) => ({ status: 429, headers: new Headers({ "retry-after": retryAfter }), text: "" });

  it("dates an HTTP-date Retry-After from the clock time it is given (Dataverse and the app)", () => {
    const in90s = new Date(now + 90_000).toUTCString();

    expect(classifyDataverseError(throttled(in90s), req, now).retryAfterMs).toBe(90_000);
    expect(classifyAppError(throttled(in90s), req, now).retryAfterMs).toBe(90_000);
  });

  it("clamps 1e9 on a 429 from either side", () => {
    expect(classifyDataverseError(throttled("1e9"), req, now)).toMatchObject({ kind: "throttled", retryAfterMs: MAX_RETRY_AFTER_MS });
    expect(classifyAppError(throttled("1e9"), req, now)).toMatchObject({ kind: "throttled", retryAfterMs: MAX_RETRY_AFTER_MS });
  });
});
