import { HttpClient } from "../http/httpClient.js";
import { ErrorCodes, SyncError, errorMessage } from "../errors.js";
import type { Clock, Logger, RunRecord } from "../ports.js";

export interface Notifier {
  /** Never throws: a notification that cannot be delivered is logged. */
  runFinished(run: RunRecord, consecutiveFailures: number): Promise<void>;
}

/**
 * Alerts to NOTIFY_WEBHOOK_URL (e.g. the coordinator's channel): a failed run, or a run that
 * finished with records dead-lettered. The JSON carries the facts plus a `text` line, which chat
 * tools (Teams and Slack incoming webhooks) show as is.
 */
export function webhookNotifier(url: string, options: { clock?: Clock; logger: Logger; fetch?: typeof fetch }): Notifier {
  const http = new HttpClient({
    fetch: options.fetch, clock: options.clock, timeoutMs: 10_000, policy: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
    classify: (res) => new SyncError(res.status >= 500 || res.status === 429 ? "transient" : "permanent", ErrorCodes.Rejected, `the notification endpoint answered HTTP ${res.status}`, { status: res.status }),
  });
  return {
    async runFinished(run, consecutiveFailures) {
      if (run.dryRun || run.status === "succeeded") return;
      const failed = run.toDataverse.failed + run.toApp.failed;
      const event = run.status === "failed" ? "run_failed" : "records_failed";
      const text = run.status === "failed"
        ? `d365-sync: the ${run.mapping} run ${run.runId} failed (${consecutiveFailures} in a row): ${run.error ?? "see the logs"}`
        : `d365-sync: the ${run.mapping} run ${run.runId} finished with ${failed} record(s) dead-lettered`;
      const body = { source: "d365-sync", event, text, mapping: run.mapping, runId: run.runId, status: run.status, failed, consecutiveFailures, error: run.error, at: run.finishedAt };
      try {
        await http.send({ method: "POST", url, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      } catch (e) {
        options.logger.warn("notification not delivered", { event, mapping: run.mapping, error: errorMessage(e) });
      }
    },
  };
}
