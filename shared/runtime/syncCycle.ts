import { randomUUID } from "node:crypto";
import type { RunRecord } from "../ports.js";
import type { RunPlan } from "../sync/planner.js";
import { recordPoisonMessage } from "./poison.js";
import { drainMemoryQueues } from "./queuePump.js";
import type { Services } from "./services.js";
import { summarize, type RunSummary } from "./summary.js";

export interface CycleOptions {
  mapping?: string;
  full: boolean;
  /** Read both sides in full, compare them with the links, repair and report the divergence (implies full). */
  reconcile?: boolean;
  dryRun: boolean;
  trigger?: "cli" | "startup";
}

export interface CycleResult {
  summary: RunSummary;
  plans: Map<string, RunPlan>;
}

/**
 * One complete sync cycle in this process: each mapping in dependency order (parents first, so a
 * child's lookups find their parents' links), every write and retry done before the next mapping.
 * Services must use in-memory queues.
 */
export async function runCycle(s: Services, options: CycleOptions): Promise<CycleResult> {
  // An activity mapping (kind "activity") is run by its name too.
  const names = options.mapping ? [s.engine.mappingNames.includes(options.mapping) ? options.mapping : s.engine.mapping(options.mapping).name] : s.engine.mappingNames;
  const runs: RunRecord[] = [];
  const plans = new Map<string, RunPlan>();
  const onPoison = (queue: string, message: { body: unknown }, error: string) => recordPoisonMessage(s, queue, message.body, error);
  for (const name of names) {
    const abandoned = options.dryRun ? undefined : await closeAbandonedRun(s, name);
    const mode = options.reconcile ? "reconcile" : options.full || abandoned ? "full" : "delta";
    const [run] = await s.engine.startRuns({ mapping: name, mode, dryRun: options.dryRun, trigger: options.trigger ?? "cli" });
    if (abandoned) {
      const note = `the previous run ${abandoned.runId} (started ${abandoned.startedAt}) did not finish, so its queued writes were lost; this run re-read both sides in full`;
      await s.state.updateRun(run.runId, (r) => ({ ...r, notes: [...r.notes, note] }));
    }
    if (options.dryRun) {
      const msg = await s.queues.runs.receive(1, 60_000);
      const plan = msg[0] ? await s.engine.handleRun(msg[0].body) : undefined;
      if (msg[0]) await s.queues.runs.complete(msg[0]);
      if (plan) plans.set(name, plan);
    } else {
      await drainMemoryQueues(s, onPoison);
    }
    runs.push((await s.state.getRun(run.runId)) ?? run);
  }
  const cycleId = runs.length === 1 ? runs[0].runId : randomUUID();
  return { summary: await summarize(s.state, cycleId, runs), plans };
}

const unfinished = new Set<RunRecord["status"]>(["queued", "planning", "writing"]);

/**
 * In-memory queues end with their process, but a run moves its cursors as soon as its writes are
 * queued: a cycle killed midway would leave those changes behind the cursors for good. So when the
 * mapping's latest cycle run never finished, it is closed as failed and this run reads everything.
 */
async function closeAbandonedRun(s: Services, mapping: string): Promise<RunRecord | undefined> {
  const [latest] = await s.state.listRuns({ mapping, limit: 1 });
  if (!latest || latest.dryRun || latest.trigger !== "cli" || !unfinished.has(latest.status)) return undefined;
  const error = "the run did not finish: the process running it ended before its writes were done; the next cycle re-read both sides in full";
  return s.state.updateRun(latest.runId, (r) => ({ ...r, status: "failed", error, finishedAt: new Date(s.clock.now()).toISOString() }));
}
