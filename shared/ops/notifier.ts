import { HttpClient } from "../http/httpClient.js";
import { ErrorCodes, SyncError, errorMessage } from "../errors.js";
import type { Clock, Logger, RunRecord } from "../ports.js";
import { secretMasker } from "../redact.js";

/** How logs and errors name the endpoint: its URL is a secret (Slack and Teams carry the token in the path). */
export const NOTIFY_ENDPOINT = "the notification webhook (NOTIFY_WEBHOOK_URL)";

export interface Notifier {
  /** Never throws: a notification that cannot be delivered is logged. */
  runFinished(run: RunRecord, consecutiveFailures: number): Promise<void>;
}

/**
 * Alerts to NOTIFY_WEBHOOK_URL (e.g. the coordinator's channel): a failed run, or a run that
 * finished with records dead-lettered. The JSON carries the facts plus a `text` line, which chat
 * tools (Teams and Slack incoming webhooks) show as is. The URL is never quoted, in whole or in part:
 * errors name the setting, and anything a library echoes is masked before it is logged.
 */
export function webhookNotifier(url: string, options: { clock?: Clock; logger: Logger; fetch?: typeof fetch }): Notifier {
  const mask = secretMasker([url]);
  const http = new HttpClient({
    describe: () => NOTIFY_ENDPOINT,
    fetch: options.fetch, clock: options.clock, timeoutMs: 10_000, policy: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
    classify: (res) => new SyncError(res.status >= 500 || res.status === 429 ? "transient" : "permanent", ErrorCodes.Rejected, `${NOTIFY_ENDPOINT} answered HTTP ${res.status}`, { status: res.status }),
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
        options.logger.warn("notification not delivered", { event, mapping: run.mapping, error: mask(errorMessage(e)) });
      }
    },
  };
}
