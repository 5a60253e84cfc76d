import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { webhookNotifier } from "../../../shared/ops/notifier.js";
import type { RunRecord } from "../../../shared/ports.js";
import { silentLogger } from "../../../shared/runtime/logger.js";
import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { finishRun, newRun } from "../../../shared/sync/runBook.js";
import { RecordingTelemetry } from "../../../shared/runtime/telemetry.js";

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function receiver(status = 200): Promise<{ url: string; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      bodies.push(JSON.parse(text));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}/hook`, bodies };
}

const run = (status: RunRecord["status"], failed = 0): RunRecord => ({
  ...newRun("6c1f8a4e-0000-4000-8000-000000000001", "mentors", { mode: "delta", dryRun: false, trigger: "timer" }, "2026-11-25T02:00:00.000Z"),
  status, finishedAt: "2026-11-25T02:01:00.000Z", error: status === "failed" ? "Dataverse answered 503" : undefined,
  toApp: { created: 0, updated: 0, deleted: 0, skipped: 0, failed },
});

describe("webhook notifier", () => {
  it("alerts on a failed run with the number of failures in a row", async () => {
    const { url, bodies } = await receiver();
    const state = new MemoryStateStore();
    const deps = { state, telemetry: new RecordingTelemetry(), logger: silentLogger, notifier: webhookNotifier(url, { logger: silentLogger }) };

    await finishRun(deps, run("failed"));
    await finishRun(deps, run("failed"));

    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toMatchObject({ event: "run_failed", mapping: "mentors", consecutiveFailures: 2, error: "Dataverse answered 503" });
    expect(String(bodies[1].text)).toContain("failed (2 in a row)");
  });

  it("alerts when records were dead-lettered and stays quiet on success", async () => {
    const { url, bodies } = await receiver();
    const deps = { state: new MemoryStateStore(), telemetry: new RecordingTelemetry(), logger: silentLogger, notifier: webhookNotifier(url, { logger: silentLogger }) };

    await finishRun(deps, run("succeeded"));
    await finishRun(deps, run("completed_with_failures", 3));

    expect(bodies).toEqual([expect.objectContaining({ event: "records_failed", failed: 3 })]);
  });

  it("logs instead of throwing when the endpoint refuses the notification", async () => {
    const { url } = await receiver(400);
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    const deps = { state: new MemoryStateStore(), telemetry: new RecordingTelemetry(), logger, notifier: webhookNotifier(url, { logger }) };

    await expect(finishRun(deps, run("failed"))).resolves.toBeUndefined();
    expect(warnings).toContain("notification not delivered");
  });
});
