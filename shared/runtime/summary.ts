import type { DirectionCounts, Divergence, RunRecord, SyncStateStore } from "../ports.js";

export interface RunSummary {
  runId: string;
  status: "succeeded" | "completed_with_failures" | "failed";
  totals: { written: number; skipped: number; conflicts: number; failed: number };
  mappings: { name: string; runId: string; status: RunRecord["status"]; toDataverse: DirectionCounts; toApp: DirectionCounts; conflicts: number; notes: string[]; error?: string;
    /** Reconcile runs: the records (and per field) whose sides disagreed before the run repaired them. */
    divergence?: Divergence }[];
  failures: { mapping: string; direction: string; id: string; code: string; message: string }[];
  dryRun?: boolean;
}

const written = (c: DirectionCounts) => c.created + c.updated + c.deleted;

/** The run summary of product.md for one cycle (one run per mapping). */
export async function summarize(state: SyncStateStore, cycleId: string, runs: RunRecord[]): Promise<RunSummary> {
  const failures: RunSummary["failures"] = [];
  for (const run of runs) {
    for (const dl of await state.listDeadLetters({ mapping: run.mapping, limit: 1000 })) {
      if (dl.runId === run.runId) failures.push({ mapping: dl.mapping, direction: dl.direction, id: dl.recordId, code: dl.code, message: dl.message });
    }
    if (run.status === "failed") failures.push({ mapping: run.mapping, direction: "run", id: run.runId, code: "RUN_FAILED", message: run.error ?? "the run failed" });
  }
  const totals = { written: 0, skipped: 0, conflicts: 0, failed: 0 };
  for (const r of runs) {
    totals.written += written(r.toDataverse) + written(r.toApp);
    totals.skipped += r.toDataverse.skipped + r.toApp.skipped;
    totals.conflicts += r.conflicts;
    totals.failed += r.toDataverse.failed + r.toApp.failed;
  }
  const status: RunSummary["status"] = runs.some((r) => r.status === "failed" || !["succeeded", "completed_with_failures"].includes(r.status))
    ? "failed"
    : totals.failed > 0 ? "completed_with_failures" : "succeeded";
  return {
    runId: cycleId, status, totals,
    mappings: runs.map((r) => ({ name: r.mapping, runId: r.runId, status: r.status, toDataverse: r.toDataverse, toApp: r.toApp, conflicts: r.conflicts, notes: r.notes, error: r.error, ...(r.divergence ? { divergence: r.divergence } : {}) })),
    failures,
    ...(runs.some((r) => r.dryRun) ? { dryRun: true } : {}),
  };
}

/** Exit codes of `npm run sync` (product.md). */
export function exitCodeOf(summary: RunSummary): number {
  return summary.status === "succeeded" ? 0 : summary.status === "completed_with_failures" ? 2 : 1;
}
