import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { defaultHttpBounds } from "../../../shared/http/httpBounds.js";
import { demoConfig } from "../../support/syncHarness.js";

describe("options.http in the mapping file", () => {
  it("defaults every bound to the documented values", () => {
    const config = parseSyncConfig(demoConfig(), "demo");

    expect(config.options.http).toEqual(defaultHttpBounds);
    expect(defaultHttpBounds).toEqual({
      connectTimeoutMs: 10_000, firstByteTimeoutMs: 30_000, bodyTimeoutMs: 60_000, totalTimeoutMs: 300_000,
      maxRetryAfterMs: 300_000, maxResponseBytes: 33_554_432, tokenTimeoutMs: 60_000,
    });
  });

  it("refuses a bound a timer cannot hold and a zero timeout, naming each path", () => {
    const input = { ...demoConfig(), options: { http: { totalTimeoutMs: 2 ** 31, connectTimeoutMs: 0 } } };

    let problems: string[] = [];
    try {
      parseSyncConfig(input, "demo");
    } catch (e) {
      problems = (e as { problems: string[] }).problems;
    }

    expect(problems.some((p) => p.includes("options.http.totalTimeoutMs"))).toBe(true);
    expect(problems.some((p) => p.includes("options.http.connectTimeoutMs"))).toBe(true);
  });
});
