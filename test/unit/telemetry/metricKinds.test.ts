import { DataPointType } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { SyncError } from "../../../shared/errors.js";
import { MetricKinds, Metrics } from "../../../shared/telemetry/metrics.js";
import { countingTokenFailures, tokenFailureReason } from "../../../shared/telemetry/syncMetrics.js";
import { inMemoryMetrics } from "../../support/inMemoryMetrics.js";

const exported = inMemoryMetrics;

describe("metric instruments of the telemetry contract", () => {
  it("adds counters, keeps the last value of gauges and records every value of histograms", async () => {
    const otel = exported();
    otel.telemetry.metric(Metrics.records, 2, { mapping: "m", direction: "toApp", outcome: "created" });
    otel.telemetry.metric(Metrics.records, 3, { mapping: "m", direction: "toApp", outcome: "created" });
    otel.telemetry.metric(Metrics.pending, 7, { mapping: "m", direction: "toApp" });
    otel.telemetry.metric(Metrics.pending, 4, { mapping: "m", direction: "toApp" });
    otel.telemetry.metric(Metrics.lag, 1.5, { mapping: "m", direction: "toApp", path: "scheduled" });
    otel.telemetry.metric(Metrics.lag, 2.5, { mapping: "m", direction: "toApp", path: "scheduled" });

    const records = (await otel.metric(Metrics.records))!;
    expect([records.dataPointType, records.dataPoints.map((p) => p.value)]).toEqual([DataPointType.SUM, [5]]);
    const pending = (await otel.metric(Metrics.pending))!;
    expect([pending.dataPointType, pending.dataPoints.map((p) => p.value)]).toEqual([DataPointType.GAUGE, [4]]);
    const lag = (await otel.metric(Metrics.lag))!;
    expect(lag.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(lag.descriptor.unit).toBe("s");
    expect(lag.dataPoints[0].value).toMatchObject({ count: 2, sum: 4 });
  });

  it("gives every metric of the contract a kind, and the time figures seconds", () => {
    expect(Object.keys(MetricKinds).sort()).toEqual(Object.values(Metrics).sort());
    for (const name of [Metrics.runDuration, Metrics.pendingOldestAge, Metrics.lag, Metrics.throttleWait]) expect(MetricKinds[name].unit).toBe("s");
  });
});

describe("token failures", () => {
  it("names the AADSTS code when the message has one, else the error code", () => {
    expect(tokenFailureReason(new SyncError("auth", "AUTH", "Could not obtain a Dataverse token: AADSTS7000222: The provided client secret keys for app '…' are expired."))).toBe("AADSTS7000222");
    expect(tokenFailureReason(new SyncError("transient", "TIMEOUT", "no answer within 60000 ms"))).toBe("TIMEOUT");
  });

  it("counts one failed acquisition once, however many callers shared it", async () => {
    const otel = exported();
    const failure = new SyncError("auth", "AUTH", "AADSTS7000215: Invalid client secret provided.");
    let calls = 0;
    const shared = Promise.reject(failure);
    shared.catch(() => undefined);
    const source = countingTokenFailures({ getToken: () => ((calls += 1), shared) }, otel.telemetry);

    const results = await Promise.allSettled([source.getToken(), source.getToken(), source.getToken()]);

    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(calls).toBe(3);
    expect((await otel.metric(Metrics.tokenFailures))!.dataPoints.map((p) => [p.attributes, p.value])).toEqual([[{ reason: "AADSTS7000215" }, 1]]);
  });
});
