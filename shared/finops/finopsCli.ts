import type { Services } from "../runtime/services.js";
import { summarize, type RunSummary } from "../runtime/summary.js";
import type { RunPlan } from "../sync/planner.js";
import { finopsJob } from "./finopsServices.js";
import { runFinopsCycle, withJobRuns } from "./finopsCycle.js";

/** `npm run sync -- --finops <job> [--resend | --mark-sent]`: the job's run as a cycle summary. */
export async function finopsCycleSummary(s: Services, jobs: string[], o: { resend?: boolean; markSent?: boolean }): Promise<{ summary: RunSummary; plans: Map<string, RunPlan> }> {
  for (const job of jobs) finopsJob(s, job); // an unknown name fails before anything runs
  const runs = await runFinopsCycle(s, jobs, { resend: o.resend, markSent: o.markSent });
  return { summary: await summarize(s.state, runs[0].runId, runs), plans: new Map() };
}

/** A plain `npm run sync`: every F&O job after the mappings. */
export async function withAllJobs(s: Services, summary: RunSummary): Promise<RunSummary> {
  return withJobRuns(s, summary, await runFinopsCycle(s, (s.config.finops ?? []).map((j) => j.name)));
}
