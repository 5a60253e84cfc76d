import type { CredentialExpiryReader } from "../config/credentialExpiry.js";
import type { SyncConfig } from "../config/mapping.js";
import { errorMessage } from "../errors.js";
import type { Notifier } from "../ops/notifier.js";
import type { Clock, Logger, RunRecord, SyncStateStore, Telemetry } from "../ports.js";
import type { RecordFailure } from "../sync/decide.js";
import { Metrics } from "./metrics.js";
import { pendingFigures, recordPendingMetrics, recordRunMetrics } from "./syncMetrics.js";

/** What the engine tells monitoring: a finished run, a record that did not sync. Never throws. */
export interface RunMonitor {
  runFinished(run: RunRecord): Promise<void>;
  recordFailed(mapping: string, runId: string, failure: RecordFailure): Promise<void>;
}

export interface RunMonitorDeps {
  config: SyncConfig;
  state: SyncStateStore;
  telemetry: Telemetry;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
  credentialExpiry?: CredentialExpiryReader;
}

/** The credential warning goes out at most this often (runs may be every few minutes). */
const CREDENTIAL_NOTICE_MS = 24 * 3_600_000;
const TERMINAL = new Set(["succeeded", "completed_with_failures", "failed"]);

export function criticalFieldsOf(config: Pick<SyncConfig, "mappings">, mapping: string): string[] {
  return config.mappings.find((m) => m.name === mapping)?.fields.filter((f) => f.critical).map((f) => f.app) ?? [];
}

/** The critical fields a failed record carried: those its write op held, or those its message names. */
export function criticalFieldsOfFailure(config: Pick<SyncConfig, "mappings">, mapping: string, f: RecordFailure): string[] {
  const m = config.mappings.find((x) => x.name === mapping);
  const critical = m?.fields.filter((x) => x.critical) ?? [];
  const op = (f.payload as { op?: { values?: Record<string, unknown> } } | null)?.op;
  if (op?.values) return critical.filter((x) => x.app in op.values!).map((x) => x.app);
  return critical.filter((x) => f.message.includes(`"${x.app}"`) || f.message.includes(`"${x.dataverse}"`)).map((x) => x.app);
}

/**
 * After each finished run (not dry runs): the run's metrics, the pending figures from Table Storage,
 * the credential's days left, and the typed notifications (divergence found, credential expiring).
 * A failure here is logged: monitoring never fails a run.
 */
export function runMonitor(deps: RunMonitorDeps): RunMonitor {
  let credentialNoticeAt = Number.NEGATIVE_INFINITY;
  const guarded = async (what: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (e) {
      deps.logger.warn(`monitoring: ${what} not recorded`, { error: errorMessage(e) });
    }
  };
  return {
    async runFinished(run) {
      if (!TERMINAL.has(run.status) || run.dryRun) return;
      const now = deps.clock.now();
      const critical = criticalFieldsOf(deps.config, run.mapping);
      recordRunMetrics(deps.telemetry, run, critical);
      await guarded("pending figures", async () => recordPendingMetrics(deps.telemetry, run.mapping, await pendingFigures(deps.state, run.mapping, now)));
      if (run.divergence && run.divergence.records > 0) {
        const criticalFields = critical.filter((f) => (run.divergence!.fields[f] ?? 0) > 0);
        await deps.notifier?.notify({ event: "divergence_detected", mapping: run.mapping, runId: run.runId, records: run.divergence.records, fields: run.divergence.fields, criticalFields, at: new Date(now).toISOString() });
      }
      await guarded("credential expiry", async () => {
        const expiry = await deps.credentialExpiry?.read();
        if (!expiry) return;
        deps.telemetry.metric(Metrics.credentialDaysLeft, expiry.daysLeft, { kind: expiry.kind });
        const warningDays = deps.config.options.credentialExpiryWarningDays;
        if (expiry.daysLeft > warningDays || now - credentialNoticeAt < CREDENTIAL_NOTICE_MS) return;
        credentialNoticeAt = now;
        await deps.notifier?.notify({ event: "credential_expiring", ...expiry, warningDays, at: new Date(now).toISOString() });
      });
    },
    async recordFailed(mapping, runId, failure) {
      const fields = criticalFieldsOfFailure(deps.config, mapping, failure);
      if (!fields.length) return;
      await deps.notifier?.notify({
        event: "critical_field_failed", mapping, runId, direction: failure.direction, recordId: failure.recordId, fields, code: failure.code,
        at: new Date(deps.clock.now()).toISOString(),
      });
    },
  };
}
