import type { DirectionKey } from "../ports.js";

/** The events the notifier sends (`event` in the JSON); documented in docs/operations.md. */
export const NotificationEvents = {
  runFailed: "run_failed",
  recordsFailed: "records_failed",
  criticalFieldFailed: "critical_field_failed",
  divergenceDetected: "divergence_detected",
  credentialExpiring: "credential_expiring",
} as const;

interface RunFacts {
  mapping: string;
  runId: string;
  status: string;
  failed: number;
  consecutiveFailures: number;
  at: string;
}

/** The JSON body less `source`, `text` and `summary`, which the notifier adds. */
export type Notification =
  | ({ event: typeof NotificationEvents.runFailed; error?: string } & RunFacts)
  | ({ event: typeof NotificationEvents.recordsFailed } & RunFacts)
  | {
      event: typeof NotificationEvents.criticalFieldFailed;
      mapping: string; runId: string; direction: DirectionKey; recordId: string;
      /** The app field names marked `"critical": true` that the failed record carried. */
      fields: string[]; code: string; at: string;
    }
  | {
      event: typeof NotificationEvents.divergenceDetected;
      mapping: string; runId: string; records: number;
      /** Per app field: how many records disagreed on it. */
      fields: Record<string, number>;
      /** The fields above that are marked `"critical": true`. */
      criticalFields: string[]; at: string;
    }
  | { event: typeof NotificationEvents.credentialExpiring; kind: string; expiresOn: string; daysLeft: number; warningDays: number; at: string };

/** The one line a chat tool shows. */
export function notificationText(n: Notification): string {
  switch (n.event) {
    case "run_failed":
      return `d365-sync: the ${n.mapping} run ${n.runId} failed (${n.consecutiveFailures} in a row): ${n.error ?? "see the logs"}`;
    case "records_failed":
      return `d365-sync: the ${n.mapping} run ${n.runId} finished with ${n.failed} record(s) dead-lettered`;
    case "critical_field_failed":
      return `d365-sync: ${n.mapping} record ${n.recordId} did not sync ${n.direction === "toApp" ? "to the app" : "to Dataverse"} (${n.code}); it carries the critical field(s) ${n.fields.join(", ")}`;
    case "divergence_detected": {
      const critical = n.criticalFields.length ? `, critical field(s) ${n.criticalFields.join(", ")}` : "";
      return `d365-sync: reconciliation of ${n.mapping} found ${n.records} record(s) that differed between the systems${critical}; they were repaired`;
    }
    case "credential_expiring":
      return n.daysLeft < 0
        ? `d365-sync: the Dataverse credential (${n.kind}) expired on ${n.expiresOn.slice(0, 10)}: renew it now`
        : `d365-sync: the Dataverse credential (${n.kind}) expires on ${n.expiresOn.slice(0, 10)}, in ${n.daysLeft} day(s): renew it`;
  }
}
