import { errorMessage, isSyncError } from "../errors.js";
import type { DeadLetter, DirectionKey, RunRecord, SyncStateStore, Telemetry } from "../ports.js";
import { recordIdOf, type WriteOp } from "../sync/writeOps.js";
import type { WriteOutcome } from "../sync/writeOutcome.js";
import { Metrics } from "./metrics.js";

const OUTCOMES = ["created", "updated", "deleted", "skipped", "failed"] as const;
const DIRECTIONS = ["toDataverse", "toApp"] as const;

/**
 * `sync.records` per direction and outcome, `sync.run.duration`, and after a reconcile run
 * `sync.divergence` per field (0 for a critical field that agreed, so its alert resolves).
 */
export function recordRunMetrics(telemetry: Telemetry, run: RunRecord, criticalFields: readonly string[] = []): void {
  for (const direction of DIRECTIONS) {
    for (const outcome of OUTCOMES) {
      const n = run[direction][outcome];
      if (n > 0) telemetry.metric(Metrics.records, n, { mapping: run.mapping, direction, outcome });
    }
  }
  const seconds = (Date.parse(run.finishedAt ?? run.startedAt) - Date.parse(run.startedAt)) / 1000;
  telemetry.metric(Metrics.runDuration, seconds, { mapping: run.mapping, status: run.status });
  if (run.divergence) {
    const fields = { ...Object.fromEntries(criticalFields.map((f) => [f, 0])), ...run.divergence.fields };
    for (const [field, records] of Object.entries(fields)) {
      telemetry.metric(Metrics.divergence, records, { mapping: run.mapping, field, critical: criticalFields.includes(field) });
    }
  }
}

export interface PendingFigure {
  count: number;
  /** Seconds since the oldest pending record was first seen; null when there is none. */
  oldestAgeSeconds: number | null;
}

/** Entries read per mapping for the figures; the ledger itself caps a run's revisits at the same number. */
export const PENDING_SCAN_LIMIT = 10_000;

/** Pending count and oldest age per direction, from the ledger in Table Storage. */
export async function pendingFigures(state: SyncStateStore, mapping: string, now: number): Promise<Record<DirectionKey, PendingFigure>> {
  const entries = await state.listDeadLetters({ mapping, limit: PENDING_SCAN_LIMIT });
  const figure = (direction: DirectionKey): PendingFigure => {
    const mine = entries.filter((e: DeadLetter) => e.direction === direction);
    const oldest = mine.reduce((min, e) => Math.min(min, Date.parse(e.firstFailedAt)), Number.POSITIVE_INFINITY);
    return { count: mine.length, oldestAgeSeconds: mine.length ? Math.max(0, Math.round((now - oldest) / 1000)) : null };
  };
  return { toDataverse: figure("toDataverse"), toApp: figure("toApp") };
}

export function recordPendingMetrics(telemetry: Telemetry, mapping: string, figures: Record<DirectionKey, PendingFigure>): void {
  for (const direction of DIRECTIONS) {
    telemetry.metric(Metrics.pending, figures[direction].count, { mapping, direction });
    telemetry.metric(Metrics.pendingOldestAge, figures[direction].oldestAgeSeconds ?? 0, { mapping, direction });
  }
}

/**
 * `sync.lag` of the ops written: from the change on the source (the op's `changedAt`) to now, for
 * each op that neither failed nor waits for a retry. `path`: webhook (a record event) or scheduled (a run).
 */
export function recordWriteLag(
  telemetry: Telemetry, at: { mapping: string; direction: DirectionKey; path: "webhook" | "scheduled"; now: number }, ops: readonly WriteOp[], outcome: WriteOutcome,
): void {
  const notDone = new Set([...outcome.failures.filter((f) => f.direction === at.direction).map((f) => f.recordId), ...outcome.retries.map((o) => recordIdOf(at.direction, o))]);
  for (const op of ops) {
    const changed = op.changedAt ? Date.parse(op.changedAt) : Number.NaN;
    if (Number.isNaN(changed) || notDone.has(recordIdOf(at.direction, op))) continue;
    telemetry.metric(Metrics.lag, Math.max(0, (at.now - changed) / 1000), { mapping: at.mapping, direction: at.direction, path: at.path });
  }
}

/** A 429 and the wait Dataverse asked for. */
export function recordThrottled(telemetry: Telemetry, retryAfterMs: number): void {
  telemetry.metric(Metrics.throttled, 1, {});
  telemetry.metric(Metrics.throttleWait, retryAfterMs / 1000, {});
}

/**
 * Why a token could not be obtained: the Entra error code when the message has one (AADSTS7000222
 * is an expired secret, AADSTS7000215 a wrong or revoked one), else the error code.
 */
export function tokenFailureReason(e: unknown): string {
  const aadsts = /AADSTS\d+/.exec(errorMessage(e));
  return aadsts ? aadsts[0] : isSyncError(e) ? e.code : "AUTH";
}

/**
 * A token source that counts its failures in `auth.token.failures`. Callers that shared one
 * acquisition (single-flight) share its error too: it counts once.
 */
export function countingTokenFailures<T extends { getToken(): Promise<string> }>(source: T, telemetry: Telemetry): T {
  const getToken = source.getToken.bind(source);
  let counted: unknown;
  source.getToken = async () => {
    try {
      return await getToken();
    } catch (e) {
      if (e !== counted) telemetry.metric(Metrics.tokenFailures, 1, { reason: tokenFailureReason(e) });
      counted = e;
      throw e;
    }
  };
  return source;
}
