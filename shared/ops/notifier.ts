import { HttpClient } from "../http/httpClient.js";
import { ErrorCodes, SyncError, errorMessage } from "../errors.js";
import type { Clock, Logger, RunRecord } from "../ports.js";
import { secretMasker } from "../redact.js";
import { notificationText, type Notification } from "./notifications.js";

export { NotificationEvents, type Notification } from "./notifications.js";

/** How logs and errors name the endpoint: its URL is a secret (Slack and Teams carry the token in the path). */
export const NOTIFY_ENDPOINT = "the notification webhook (NOTIFY_WEBHOOK_URL)";

export interface Notifier {
  /** Never throws: a notification that cannot be delivered is logged. */
  runFinished(run: RunRecord, consecutiveFailures: number): Promise<void>;
  /** A typed event (shared/ops/notifications.ts); one with a `mapping` also goes to that mapping's coordinators. */
  notify(notification: Notification): Promise<void>;
}

interface Endpoint {
  url: string;
  /** How logs name it: the setting, never the URL. */
  name: string;
}

export interface NotifierOptions {
  clock?: Clock;
  logger: Logger;
  fetch?: typeof fetch;
  /** Per mapping: its coordinators' webhook (the mapping's `notify.webhookUrlSetting`). */
  mappings?: Record<string, Endpoint>;
  /** A registered tenant's notices (shared/tenants) carry its id, in the JSON and the text. */
  tenant?: string;
}

/**
 * Typed events to NOTIFY_WEBHOOK_URL (the operators' channel), and to a mapping's own coordinators'
 * webhook for that mapping's events. The JSON carries the facts plus a `text` line, which
 * Slack and Teams incoming webhooks show as they are. No URL is ever quoted, in whole or in part:
 * logs name the setting, and anything a library echoes is masked before it is logged.
 */
export function webhookNotifier(url: string | undefined, options: NotifierOptions): Notifier {
  const global = url ? [{ url, name: NOTIFY_ENDPOINT }] : [];
  const mask = secretMasker([url, ...Object.values(options.mappings ?? {}).map((e) => e.url)]);
  const clients = new Map<string, HttpClient>();
  const clientFor = (e: Endpoint) => {
    let c = clients.get(e.name);
    if (!c) {
      clients.set(e.name, (c = new HttpClient({
        describe: () => e.name,
        fetch: options.fetch, clock: options.clock, timeoutMs: 10_000, policy: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
        classify: (res) => new SyncError(res.status >= 500 || res.status === 429 ? "transient" : "permanent", ErrorCodes.Rejected, `${e.name} answered HTTP ${res.status}`, { status: res.status }),
      })));
    }
    return c;
  };
  const notify = async (n: Notification) => {
    const coordinators = "mapping" in n && n.mapping ? options.mappings?.[n.mapping] : undefined;
    const text = options.tenant ? `[tenant ${options.tenant}] ${notificationText(n)}` : notificationText(n);
    const body = JSON.stringify({ source: "d365-sync", ...(options.tenant ? { tenant: options.tenant } : {}), ...n, text });
    for (const e of [...global, ...(coordinators ? [coordinators] : [])]) {
      try {
        await clientFor(e).send({ method: "POST", url: e.url, headers: { "content-type": "application/json" }, body });
      } catch (err) {
        options.logger.warn("notification not delivered", { event: n.event, to: e.name, error: mask(errorMessage(err)) });
      }
    }
  };
  return {
    notify,
    async runFinished(run, consecutiveFailures) {
      if (run.dryRun || run.status === "succeeded") return;
      const failed = run.toDataverse.failed + run.toApp.failed;
      const common = { mapping: run.mapping, runId: run.runId, status: run.status, failed, consecutiveFailures, at: run.finishedAt ?? run.startedAt };
      await notify(run.status === "failed"
        ? { event: "run_failed", ...common, ...(run.error ? { error: mask(run.error) } : {}) }
        : { event: "records_failed", ...common });
    },
  };
}
