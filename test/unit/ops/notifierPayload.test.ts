/** The notification body exactly as docs/operations.md ("Run notifications") documents it. */
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { webhookNotifier } from "../../../shared/ops/notifier.js";
import type { RunRecord } from "../../../shared/ports.js";
import { silentLogger } from "../../../shared/runtime/logger.js";
import { newRun } from "../../../shared/sync/runBook.js";

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function receiver(): Promise<{ url: string; requests: { method?: string; type?: string; body: Record<string, unknown> }[] }> {
  const requests: { method?: string; type?: string; body: Record<string, unknown> }[] = [];
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      requests.push({ method: req.method, type: req.headers["content-type"], body: JSON.parse(text) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}/hook`, requests };
}

const RUN_ID = "6c1f8a4e-0000-4000-8000-000000000001";
const finished = (status: RunRecord["status"], patch: Partial<RunRecord> = {}): RunRecord => ({
  ...newRun(RUN_ID, "mentors", { mode: "delta", dryRun: false, trigger: "timer" }, "2026-11-25T02:00:00.000Z"),
  status, finishedAt: "2026-11-25T02:01:00.000Z", ...patch,
});

describe("notification payload (docs/operations.md)", () => {
  it("posts JSON with exactly the documented fields for a failed run", async () => {
    const { url, requests } = await receiver();
    await webhookNotifier(url, { logger: silentLogger }).runFinished(finished("failed", { error: "Dataverse answered 503" }), 2);
    expect(requests).toEqual([{
      method: "POST", type: "application/json",
      body: {
        source: "d365-sync", event: "run_failed", text: `d365-sync: the mentors run ${RUN_ID} failed (2 in a row): Dataverse answered 503`,
        mapping: "mentors", runId: RUN_ID, status: "failed", failed: 0, consecutiveFailures: 2, error: "Dataverse answered 503", at: "2026-11-25T02:01:00.000Z",
      },
    }]);
  });

  it("leaves error out and counts both directions' failures for a run that finished with failures", async () => {
    const { url, requests } = await receiver();
    const run = finished("completed_with_failures", {
      toDataverse: { created: 1, updated: 0, deleted: 0, skipped: 0, failed: 2 },
      toApp: { created: 0, updated: 0, deleted: 0, skipped: 0, failed: 1 },
    });
    await webhookNotifier(url, { logger: silentLogger }).runFinished(run, 0);
    expect(requests[0].body).toEqual({
      source: "d365-sync", event: "records_failed", text: `d365-sync: the mentors run ${RUN_ID} finished with 3 record(s) dead-lettered`,
      mapping: "mentors", runId: RUN_ID, status: "completed_with_failures", failed: 3, consecutiveFailures: 0, at: "2026-11-25T02:01:00.000Z",
    });
  });

  it("does not post for a dry run, even a failed one", async () => {
    const { url, requests } = await receiver();
    await webhookNotifier(url, { logger: silentLogger }).runFinished(finished("failed", { dryRun: true, error: "x" }), 1);
    expect(requests).toEqual([]);
  });
});
