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
  const names = options.mapping ? [s.engine.mapping(options.mapping).name] : s.engine.mappingNames;
  const runs: RunRecord[] = [];
  const plans = new Map<string, RunPlan>();
  const onPoison = (queue: string, message: { body: unknown }, error: string) => recordPoisonMessage(s, queue, message.body, error);
  for (const name of names) {
    const [run] = await s.engine.startRuns({ mapping: name, mode: options.full ? "full" : "delta", dryRun: options.dryRun, trigger: options.trigger ?? "cli" });
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
