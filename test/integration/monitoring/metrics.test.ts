import type { Histogram } from "@opentelemetry/sdk-metrics";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { Metrics } from "../../../shared/telemetry/metrics.js";
import { inMemoryMetrics } from "../../support/inMemoryMetrics.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

const sumOf = (summaries: RunSummary[], mapping: string, direction: "toDataverse" | "toApp", outcome: "created" | "updated" | "deleted" | "skipped" | "failed") =>
  summaries.reduce((n, s) => n + (s.mappings.find((m) => m.name === mapping)?.[direction][outcome] ?? 0), 0);

describe("metrics through OpenTelemetry, read by an in-memory exporter", () => {
  let h: SyncHarness;
  let otel: ReturnType<typeof inMemoryMetrics>;
  beforeEach(() => void (otel = inMemoryMetrics()));
  afterEach(async () => {
    await h?.stop();
    await otel.stop();
  });

  it("after runs with creates, updates, a failure and a divergence: each metric with its attributes and values", async () => {
    const expiresOn = new Date(Date.now() + 40.5 * 86_400_000).toISOString();
    h = await startSyncHarness({ telemetry: otel.telemetry, env: { DYNAMICS_CREDENTIAL_EXPIRES_ON: expiresOn } });
    const first = await h.cycle();
    h.stack.app.patch("mentor", "m-0002", { firstName: "Olava" });
    h.stack.app.patch("mentor", "m-0001", { certificationStatus: "bogus" });
    h.stack.dataverse.faults.add({ method: "GET", path: /contacts/, status: 429, code: "0x80072322", retryAfterSeconds: 1 });
    const second = await h.cycle();
    expect(h.stack.app.patchOutsideFeed("mentor", "m-0003", { email: "hidden@example.org" })).toBe(true);
    const reconcile = await h.cycle({ reconcile: true, mapping: "mentors" });
    const summaries = [first, second, reconcile];
    expect(second.status).toBe("completed_with_failures");

    const records = await otel.points(Metrics.records);
    for (const mapping of ["groups", "mentors"]) {
      for (const direction of ["toDataverse", "toApp"] as const) {
        for (const outcome of ["created", "updated", "skipped", "failed"] as const) {
          const point = records.points.find((p) => p.attributes.mapping === mapping && p.attributes.direction === direction && p.attributes.outcome === outcome);
          expect([mapping, direction, outcome, point?.value ?? 0]).toEqual([mapping, direction, outcome, sumOf(summaries, mapping, direction, outcome)]);
        }
      }
    }
    expect(sumOf(summaries, "mentors", "toDataverse", "created") + sumOf(summaries, "mentors", "toApp", "created")).toBeGreaterThan(0);
    expect(sumOf(summaries, "mentors", "toDataverse", "updated")).toBeGreaterThan(0);
    expect(sumOf([second], "mentors", "toDataverse", "failed")).toBe(1);

    const duration = await otel.points(Metrics.runDuration);
    expect(duration.unit).toBe("s");
    const mentorRuns = duration.points.filter((p) => p.attributes.mapping === "mentors");
    expect(mentorRuns.map((p) => p.attributes.status).sort()).toEqual(["completed_with_failures", "succeeded"]);
    expect(mentorRuns.reduce((n, p) => n + (p.value as Histogram).count, 0)).toBe(3);

    const divergence = await otel.points(Metrics.divergence);
    expect(divergence.points).toEqual([{ attributes: { mapping: "mentors", field: "email", critical: false }, value: 1 }]);

    const pending = await otel.points(Metrics.pending);
    expect(pending.points).toContainEqual({ attributes: { mapping: "mentors", direction: "toDataverse" }, value: 1 });
    expect(pending.points).toContainEqual({ attributes: { mapping: "mentors", direction: "toApp" }, value: 0 });
    const oldest = await otel.points(Metrics.pendingOldestAge);
    expect(oldest.unit).toBe("s");
    const age = oldest.points.find((p) => p.attributes.mapping === "mentors" && p.attributes.direction === "toDataverse")!.value as number;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600);

    expect((await otel.points(Metrics.throttled)).points).toEqual([{ attributes: {}, value: 1 }]);
    expect((await otel.points(Metrics.throttleWait)).points).toEqual([{ attributes: {}, value: 1 }]);

    const daysLeft = await otel.points(Metrics.credentialDaysLeft);
    expect(daysLeft.points).toEqual([{ attributes: { kind: "setting" }, value: 40 }]);

    const lag = await otel.points(Metrics.lag);
    expect(lag.unit).toBe("s");
    const scheduled = lag.points.filter((p) => p.attributes.path === "scheduled" && p.attributes.mapping === "mentors" && p.attributes.direction === "toDataverse");
    expect(scheduled.length).toBe(1);
    expect((scheduled[0].value as Histogram).count).toBeGreaterThan(0);
    expect(lag.points.some((p) => p.attributes.path === "webhook")).toBe(false);
  });

  it("measures sync lag on the webhook path: a record event's write, from the source's updatedAt", async () => {
    h = await startSyncHarness({ telemetry: otel.telemetry });
    await h.cycle();
    h.stack.app.patch("mentor", "m-0002", { firstName: "Olava" });
    const changedAt = Date.parse(h.stack.app.get("mentor", "m-0002")!.updatedAt);

    const outcome = await h.services.engine.handleRecordEvent({ mapping: "mentors", side: "app", id: "m-0002", receivedAt: new Date().toISOString() });

    expect(outcome.counts.updated).toBe(1);
    const webhook = (await otel.points(Metrics.lag)).points.filter((p) => p.attributes.path === "webhook");
    expect(webhook.map((p) => p.attributes)).toEqual([{ mapping: "mentors", direction: "toDataverse", path: "webhook" }]);
    const histogram = webhook[0].value as Histogram;
    expect(histogram.count).toBe(1);
    expect(histogram.sum).toBeGreaterThanOrEqual(0);
    expect(histogram.sum! * 1000).toBeLessThanOrEqual(Date.now() - changedAt + 1);
  });

  it("counts a token refused for a wrong secret under its AADSTS code", async () => {
    h = await startSyncHarness({ telemetry: otel.telemetry, env: { DYNAMICS_CLIENT_SECRET: "not-the-secret-of-this-app-0000" } });

    const summary = await h.cycle({ mapping: "groups" });

    expect(summary.status).toBe("failed");
    const failures = await otel.points(Metrics.tokenFailures);
    expect(failures.points).toEqual([{ attributes: { reason: "AADSTS7000215" }, value: 1 }]);
  });
});
