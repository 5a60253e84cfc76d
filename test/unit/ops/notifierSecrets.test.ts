import { describe, expect, it } from "vitest";
import { webhookNotifier } from "../../../shared/ops/notifier.js";
import type { RunRecord } from "../../../shared/ports.js";
import { JsonLogger } from "../../../shared/runtime/logger.js";
import { RecordingTelemetry } from "../../../shared/runtime/telemetry.js";
import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { finishRun, newRun } from "../../../shared/sync/runBook.js";
import { FakeClock } from "../http/fakes.js";

/** A Slack-style incoming webhook: the token is the path; a query value is added to cover queries too. */
const HOOK = "https://hooks.slack.example/services/T0AB12CD3/B0EF45GH6/abcdefghijklmnopqrstuvwx?sig=QUERYSECRET123";
const url = new URL(HOOK);
/** Every part of the path and the query, each of which must stay out of logs and telemetry. */
const SECRET_PARTS = [url.pathname, ...url.pathname.split("/").filter(Boolean), url.search, ...url.searchParams.values()];

const failedRun = (): RunRecord => ({
  ...newRun("6c1f8a4e-0000-4000-8000-000000000001", "mentors", { mode: "delta", dryRun: false, trigger: "timer" }, "2026-11-25T02:00:00.000Z"),
  status: "failed", finishedAt: "2026-11-25T02:01:00.000Z", error: "Dataverse answered 503",
});

/** fetch failing the ways undici does: a network error with a code, and a message that quotes the URL. */
const failures: [string, () => Error][] = [
  ["a refused connection", () => new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) })],
  ["an error quoting the URL", () => new TypeError(`Request cannot be constructed from a URL that includes credentials: ${HOOK}`)],
];

describe("the notifier keeps NOTIFY_WEBHOOK_URL secret", () => {
  for (const [what, error] of failures) {
    it(`logs ${what} without any part of the URL's path or query, naming the setting instead`, async () => {
      const lines: string[] = [];
      // No secrets configured: the notifier itself must not put the URL into the line.
      const logger = new JsonLogger({ write: (l) => void lines.push(l) });
      const telemetry = new RecordingTelemetry();
      const fetch = (async () => { throw error(); }) as typeof globalThis.fetch;
      const deps = { state: new MemoryStateStore(), telemetry, logger, notifier: webhookNotifier(HOOK, { logger, fetch, clock: new FakeClock() }) };

      await finishRun(deps, failedRun());

      const warning = lines.find((l) => l.includes("notification not delivered"));
      expect(warning).toContain("NOTIFY_WEBHOOK_URL");
      const emitted = [...lines, ...telemetry.events.map((e) => JSON.stringify(e)), ...telemetry.metrics.map((m) => JSON.stringify(m))];
      for (const text of emitted) for (const part of SECRET_PARTS) expect(text).not.toContain(part);
    });
  }
});
