import { TelemetryEvents, TelemetryMetrics } from "../names.js";
import type { DirectionCounts, DirectionKey, Logger, RunMode, RunRecord, SyncStateStore, Telemetry } from "../ports.js";
import type { Notifier } from "../ops/notifier.js";
import type { RunPlan } from "./planner.js";
import type { WriteOutcome } from "./writeOutcome.js";
import type { RunMessage } from "./writeOps.js";

const zero = (): DirectionCounts => ({ created: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 });
const terminal = (s: RunRecord["status"]) => s === "succeeded" || s === "completed_with_failures" || s === "failed";

export function newRun(runId: string, mapping: string, req: { mode: RunMode; dryRun: boolean; trigger: RunMessage["trigger"] }, now: string): RunRecord {
  return {
    runId, mapping, mode: req.mode, trigger: req.trigger, dryRun: req.dryRun, status: "queued", startedAt: now,
    toDataverse: zero(), toApp: zero(), conflicts: 0, planned: 0, processed: 0, notes: [],
  };
}

/** Complete when every planned write has finished; failed records make it completed_with_failures. */
export function settleStatus(r: RunRecord, now: string): RunRecord {
  if (r.status !== "writing" || r.processed < r.planned) return r;
  const failed = r.toDataverse.failed + r.toApp.failed > 0;
  return { ...r, status: failed ? "completed_with_failures" : "succeeded", finishedAt: now };
}

/** Stores what planning decided; returns the run when this call finished it. */
export async function recordPlan(state: SyncStateStore, runId: string, plan: RunPlan, planned: number, now: string): Promise<RunRecord | null> {
  let finished: RunRecord | null = null;
  await state.updateRun(runId, (r) => {
    const failedTo = (d: DirectionKey) => plan.failures.filter((f) => f.direction === d).length;
    const next: RunRecord = {
      ...r, status: "writing", planned: r.planned + planned,
      toDataverse: { ...r.toDataverse, skipped: r.toDataverse.skipped + plan.skipped.toDataverse, failed: r.toDataverse.failed + failedTo("toDataverse"), ...ignoredCount(r.toDataverse, plan, "toDataverse") },
      toApp: { ...r.toApp, skipped: r.toApp.skipped + plan.skipped.toApp, failed: r.toApp.failed + failedTo("toApp"), ...ignoredCount(r.toApp, plan, "toApp") },
      conflicts: r.conflicts + plan.conflicts, notes: [...r.notes, ...plan.notes],
      // One plan reads the whole mapping, so its divergence is the run's (a re-plan replaces it).
      ...(r.mode === "reconcile" ? { divergence: plan.divergence } : {}),
    };
    const settled = settleStatus(next, now);
    finished = terminal(settled.status) ? settled : null;
    return settled;
  });
  return finished;
}

/** `ignored` plus what the plan ignored; absent while nothing was (so counts stay as they were). */
function ignoredCount(counts: DirectionCounts, plan: RunPlan, direction: DirectionKey): { ignored?: number } {
  const ignored = (counts.ignored ?? 0) + (plan.ignored?.[direction] ?? 0);
  return ignored ? { ignored } : {};
}

/** Adds a write chunk's outcome to its run; returns the run when this call finished it. */
export async function recordWrites(state: SyncStateStore, runId: string, direction: DirectionKey, outcome: WriteOutcome, now: string): Promise<RunRecord | null> {
  if (!outcome.finished && !outcome.notes.length) return null;
  let finished: RunRecord | null = null;
  const exists = await state.getRun(runId);
  if (!exists) return null;
  await state.updateRun(runId, (r) => {
    const counts = { ...r[direction] };
    for (const k of Object.keys(outcome.counts) as (keyof DirectionCounts)[]) counts[k] = (counts[k] ?? 0) + (outcome.counts[k] ?? 0);
    const wasTerminal = terminal(r.status);
    const next = settleStatus({ ...r, [direction]: counts, processed: r.processed + outcome.finished, notes: [...r.notes, ...outcome.notes] }, now);
    finished = !wasTerminal && terminal(next.status) ? next : null;
    return next;
  });
  return finished;
}

/** Health and telemetry once a run has finished. */
export async function finishRun(deps: { state: SyncStateStore; telemetry: Telemetry; logger: Logger; notifier?: Notifier }, run: RunRecord): Promise<void> {
  if (!terminal(run.status) || run.dryRun) return;
  let consecutiveFailures = 0;
  for (const direction of ["toDataverse", "toApp"] as const) {
    const health = await deps.state.updateHealth(run.mapping, direction, (h) => ({
      ...h,
      lastRunAt: run.finishedAt ?? run.startedAt,
      lastRunId: run.runId,
      lastRunStatus: run.status,
      lastSuccessAt: run.status === "failed" ? h.lastSuccessAt : (run.finishedAt ?? run.startedAt),
      consecutiveFailures: run.status === "failed" ? h.consecutiveFailures + 1 : 0,
    }));
    consecutiveFailures = Math.max(consecutiveFailures, health.consecutiveFailures);
  }
  const written = (c: DirectionCounts) => c.created + c.updated + c.deleted;
  const props = {
    mapping: run.mapping, runId: run.runId, status: run.status, mode: run.mode, trigger: run.trigger,
    written: written(run.toDataverse) + written(run.toApp), skipped: run.toDataverse.skipped + run.toApp.skipped,
    conflicts: run.conflicts, failed: run.toDataverse.failed + run.toApp.failed,
  };
  deps.telemetry.event(TelemetryEvents.runCompleted, props);
  if (run.divergence) {
    // `fields` as JSON (custom dimensions are flat): parse_json(customDimensions.fields) in a query.
    deps.telemetry.event(TelemetryEvents.divergence, { mapping: run.mapping, runId: run.runId, records: run.divergence.records, fields: JSON.stringify(run.divergence.fields) });
  }
  deps.telemetry.metric(TelemetryMetrics.recordsWritten, props.written, { mapping: run.mapping });
  deps.telemetry.metric(TelemetryMetrics.recordsFailed, props.failed, { mapping: run.mapping });
  deps.telemetry.metric(TelemetryMetrics.runDurationMs, Date.parse(run.finishedAt ?? run.startedAt) - Date.parse(run.startedAt), { mapping: run.mapping });
  const log = run.status === "failed" ? deps.logger.error : deps.logger.info;
  log.call(deps.logger, "run finished", props);
  await deps.notifier?.runFinished(run, consecutiveFailures);
}

/** What a plan would write, in run-summary form (dry runs); a reconcile dry run also reports its divergence. */
export function plannedCounts(plan: RunPlan, mode?: RunMode): Pick<RunRecord, "toDataverse" | "toApp" | "conflicts" | "divergence"> {
  const count = (direction: DirectionKey) => {
    const ops = direction === "toDataverse" ? plan.toDataverse : plan.toApp;
    const c = zero();
    for (const op of ops) c[op.kind === "create" ? "created" : op.kind === "update" ? "updated" : "deleted"] += 1;
    c.skipped = plan.skipped[direction];
    c.failed = plan.failures.filter((f) => f.direction === direction).length;
    if (plan.ignored?.[direction]) c.ignored = plan.ignored[direction];
    return c;
  };
  return { toDataverse: count("toDataverse"), toApp: count("toApp"), conflicts: plan.conflicts, ...(mode === "reconcile" ? { divergence: plan.divergence } : {}) };
}
