import type { RunRecord } from "../ports.js";
import type { Services } from "../runtime/services.js";
import type { RunMessage } from "../sync/writeOps.js";
import { finopsServices } from "./finopsServices.js";
import { createFinopsRun, runFinopsJob } from "./runFinopsJob.js";

/**
 * How F&O jobs ride the product's run machinery: a trigger (the scheduled timer, a job's own timer,
 * `POST /api/sync {"finops": job}`) creates the run record and sends a RunMessage naming the job on
 * the `sync-runs` queue, and the run worker hands such a message to runFinopsJob instead of the
 * mapping engine. So a job's run has a run id at once, and poison handling is the runs queue's.
 */
export function isFinopsJob(s: Pick<Services, "config">, name: string): boolean {
  return !!s.config.finops?.some((j) => j.name === name);
}

/** Jobs run by the scheduled timer: those without a `schedule` of their own. */
export function jobsOnMainSchedule(s: Pick<Services, "config">): string[] {
  return (s.config.finops ?? []).filter((j) => !j.schedule).map((j) => j.name);
}

/** Creates a queued run of each job and sends its message; the run worker runs it. */
export async function startFinopsRuns(s: Services, jobs: string[], trigger: RunRecord["trigger"]): Promise<RunRecord[]> {
  if (!jobs.length) return [];
  const f = await finopsServices(s);
  const runs: RunRecord[] = [];
  for (const job of jobs) {
    const run = await createFinopsRun(f, job, trigger);
    const message: RunMessage = { runId: run.runId, mapping: job, mode: "delta", dryRun: false, trigger };
    await s.queues.runs.send(message);
    runs.push(run);
  }
  return runs;
}

/** The run worker's part: true when the message was a job's run (and it has been run). */
export async function handleFinopsRunMessage(s: Services, message: RunMessage): Promise<boolean> {
  if (!isFinopsJob(s, message.mapping)) return false;
  const f = await finopsServices(s);
  await runFinopsJob(f, message.mapping, { runId: message.runId, trigger: message.trigger });
  return true;
}
