import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulatorStack, type EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import { ADF_DEFAULT_SINK, BATCH_100_X16, batchSink } from "../../bench/peers/batchSink.js";
import { bulkPeer } from "../../bench/peers/bulkPeer.js";
import { naiveLoop } from "../../bench/peers/naiveLoop.js";
import { checkArrival } from "../../bench/peers/peerKit.js";

// Service protection on, fast: a window of one simulated second lasts 200 real ms and takes 5
// requests, so every peer with more than 5 requests in flight, or faster than 25 a second, meets 429s.
const TIME_SCALE = 5;
const LIMITS = { enabled: true, timeScale: TIME_SCALE, windowSeconds: 1, maxRequests: 5, maxExecutionMs: 4_000 };

describe("the benchmark's peers against the Dataverse emulator with service protection on", () => {
  let stack: EmulatorStack;
  beforeAll(async () => {
    stack = await startEmulatorStack({ storageConnectionString: "UseDevelopmentStorage=true", seed: false, dataverse: { throttle: LIMITS, log: { bodies: false } } });
  });
  afterAll(() => stack.stop());

  const peer = (prefix: string, records: number) => ({ env: stack.env, timeScale: TIME_SCALE, records, maxSeconds: 60, prefix });

  it("the naive loop writes every record once, sending a record again after its 429", async () => {
    const run = await naiveLoop(peer("naive", 60));

    expect(run.sent).toBe(60);
    expect(run.throttled).toBeGreaterThan(0);
    expect(checkArrival(stack.dataverse.rows("contact"), "naive", run.sent)).toMatchObject({ exactlyOnce: true, arrived: 60 });
  });

  it("the $batch peers count every part that landed, and each record lands once", async () => {
    const adf = await batchSink(peer("adf", 400), ADF_DEFAULT_SINK);
    const k16 = await batchSink(peer("k16", 2_000), BATCH_100_X16);

    expect([adf.sent, k16.sent]).toEqual([400, 2_000]);
    expect(k16.throttled).toBeGreaterThan(0);
    expect(checkArrival(stack.dataverse.rows("contact"), "adf", adf.sent).exactlyOnce).toBe(true);
    expect(checkArrival(stack.dataverse.rows("contact"), "k16", k16.sent).exactlyOnce).toBe(true);
  });

  it("the best peer runs at the service's x-ms-dop-hint and writes every record once", async () => {
    const run = await bulkPeer(peer("best", 10_000));

    expect(run.dop).toBe(stack.dataverse.throttle.options.dopHint);
    expect(run.sent).toBe(10_000);
    expect(run.throttled).toBeGreaterThan(0);
    expect(checkArrival(stack.dataverse.rows("contact"), "best", run.sent).exactlyOnce).toBe(true);
  });
});
