import type { DirectionCounts, Divergence, RunRecord, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "../sync/compiledMapping.js";
import type { LookupResolver } from "../sync/lookups.js";
import type { RunPlan } from "../sync/planner.js";
import type { WriteOp } from "../sync/writeOps.js";

export interface RunSummary {
  runId: string;
  status: "succeeded" | "completed_with_failures" | "failed";
  /**
   * `ignored`: deletes the delete policy left alone. In a dry run nothing is written, so `written` is
   * 0 and `wouldWrite` counts the writes the run planned.
   */
  totals: { written: number; skipped: number; conflicts: number; failed: number; ignored: number; wouldWrite?: number };
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
    if (run.status === "failed") failures.push({ mapping: run.mapping, direction: "run", id: run.runId, code: run.errorCode ?? "RUN_FAILED", message: run.error ?? "the run failed" });
  }
  const dryRun = runs.some((r) => r.dryRun);
  const totals: RunSummary["totals"] = { written: 0, skipped: 0, conflicts: 0, failed: 0, ignored: 0 };
  for (const r of runs) {
    totals.written += written(r.toDataverse) + written(r.toApp);
    totals.skipped += r.toDataverse.skipped + r.toApp.skipped;
    totals.conflicts += r.conflicts;
    totals.failed += r.toDataverse.failed + r.toApp.failed;
    totals.ignored += (r.toDataverse.ignored ?? 0) + (r.toApp.ignored ?? 0);
  }
  // A dry run's counts are what it planned: nothing of it was written.
  if (dryRun) Object.assign(totals, { wouldWrite: totals.written, written: 0 });
  const status: RunSummary["status"] = runs.some((r) => r.status === "failed" || !["succeeded", "completed_with_failures"].includes(r.status))
    ? "failed"
    : totals.failed > 0 ? "completed_with_failures" : "succeeded";
  return {
    runId: cycleId, status, totals,
    mappings: runs.map((r) => ({ name: r.mapping, runId: r.runId, status: r.status, toDataverse: r.toDataverse, toApp: r.toApp, conflicts: r.conflicts, notes: r.notes, error: r.error, ...(r.divergence ? { divergence: r.divergence } : {}) })),
    failures,
    ...(dryRun ? { dryRun: true } : {}),
  };
}

/** Exit codes of `npm run sync` (product.md). */
export function exitCodeOf(summary: RunSummary): number {
  return summary.status === "succeeded" ? 0 : summary.status === "completed_with_failures" ? 2 : 1;
}

/** What the text summary needs of the engine to show a dry run's writes as they would be sent. */
export interface WritePreviewSource {
  mapping(name: string): CompiledMapping;
  readonly lookups: LookupResolver;
}

/** Planned writes a dry run lists per mapping (the counts cover them all). */
const PREVIEW_LIMIT = 50;

/**
 * The summary as `npm run sync` prints it without `--json`. A dry run says what it would write, and
 * lists the writes: Dataverse bodies under their column names, app data under the app's field names.
 */
export async function formatSummary(summary: RunSummary, plans: Map<string, RunPlan>, engine: WritePreviewSource): Promise<string> {
  const dry = summary.dryRun === true;
  const counts = (c: DirectionCounts) =>
    `${dry ? `would create ${c.created}, update ${c.updated}, delete ${c.deleted}` : `created ${c.created}, updated ${c.updated}, deleted ${c.deleted}`}` +
    `, skipped ${c.skipped}, failed ${c.failed}${c.ignored ? `, ignored ${c.ignored}` : ""}`;
  const lines = [`${dry ? "dry run " : ""}${summary.runId}: ${summary.status}`];
  for (const m of summary.mappings) {
    lines.push(`  ${m.name} (${m.status})`, `    to Dataverse: ${counts(m.toDataverse)}`, `    to the app:   ${counts(m.toApp)}`);
    if (m.conflicts) lines.push(`    conflicts: ${m.conflicts}`);
    if (m.divergence) lines.push(`    diverged: ${divergenceLine(m.divergence)}`);
    for (const n of m.notes) lines.push(`    note: ${n}`);
    if (m.error) lines.push(`    error: ${m.error}`);
    const plan = plans.get(m.name);
    if (plan) for (const line of await previewLines(engine.mapping(m.name), plan, engine.lookups)) lines.push(`    ${line}`);
  }
  for (const f of summary.failures) lines.push(`  failed: ${f.mapping} ${f.direction} ${f.id}: ${f.code} ${f.message}`);
  const t = summary.totals;
  const made = dry ? `would write ${t.wouldWrite ?? 0} (dry run: nothing was written)` : `written ${t.written}`;
  lines.push(`${made}, skipped ${t.skipped}, conflicts ${t.conflicts}, failed ${t.failed}${t.ignored ? `, ignored ${t.ignored}` : ""}`);
  return lines.join("\n");
}

/** `2 record(s) (email 1, score 1)`: what a reconcile run found before it repaired it. */
function divergenceLine(d: Divergence): string {
  const fields = Object.entries(d.fields).map(([f, n]) => `${f} ${n}`).join(", ");
  return `${d.records} record(s)${fields ? ` (${fields})` : ""}`;
}

async function previewLines(m: CompiledMapping, plan: RunPlan, lookups: LookupResolver): Promise<string[]> {
  const ops = [...plan.toDataverse.map((op) => ["Dataverse", op] as const), ...plan.toApp.map((op) => ["app", op] as const)];
  const lines: string[] = [];
  for (const [side, op] of ops.slice(0, PREVIEW_LIMIT)) {
    const body = side === "Dataverse" ? await dataverseBody(m, op, lookups) : appData(m, op);
    lines.push(`would ${op.kind} in ${side}: ${op.appId ?? op.dataverseId}${body === undefined ? "" : ` ${JSON.stringify(body)}`}`);
  }
  if (ops.length > PREVIEW_LIMIT) lines.push(`... and ${ops.length - PREVIEW_LIMIT} more planned write(s)`);
  return lines;
}

/** The body the Dataverse writer would send, by column name (dataverseWriter.ts). */
async function dataverseBody(m: CompiledMapping, op: WriteOp, lookups: LookupResolver): Promise<Record<string, unknown> | string | undefined> {
  if (op.kind === "delete") return undefined;
  if (op.kind === "deactivate") return { statecode: 1 };
  // A dry run links nothing, so a parent it would create first cannot be bound yet: say so instead.
  const preview: LookupResolver = {
    toApp: (mapping, field, id) => lookups.toApp(mapping, field, id),
    toDataverseBind: (mapping, field, ref) => lookups.toDataverseBind(mapping, field, ref).catch(() => `(app record ${ref}, bound once it is linked)`),
  };
  try {
    const body = await m.toDataverseBody(op.values, preview);
    return op.kind === "create" ? { [m.primaryId]: op.dataverseId, ...body } : body;
  } catch (e) {
    return `(cannot be shown: ${e instanceof Error ? e.message : String(e)})`;
  }
}

/** The data the app writer would send, by app field name (appWriter.ts). */
function appData(m: CompiledMapping, op: WriteOp): Record<string, unknown> | string | undefined {
  if (op.kind === "delete") return undefined;
  const inactive = m.mapping.app.inactiveField;
  if (op.kind === "deactivate") return inactive ? { [inactive.field]: inactive.value } : undefined;
  try {
    return m.toAppData(op.values);
  } catch (e) {
    return `(cannot be shown: ${e instanceof Error ? e.message : String(e)})`;
  }
}
