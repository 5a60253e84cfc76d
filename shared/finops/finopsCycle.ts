import type { RunRecord } from "../ports.js";
import type { Services } from "../runtime/services.js";
import { summarize, type RunSummary } from "../runtime/summary.js";
import { finopsServices, type FinopsServiceOptions } from "./finopsServices.js";
import type { PollPolicy } from "./jobSupport.js";
import { runFinopsJob } from "./runFinopsJob.js";

export interface FinopsCycleOptions {
  trigger?: RunRecord["trigger"];
  resend?: boolean;
  markSent?: boolean;
  poll?: PollPolicy;
  services?: FinopsServiceOptions;
}

/** `npm run sync -- --finops <job>` (and every job after the mappings of a plain `npm run sync`): each job once, in this process. */
export async function runFinopsCycle(s: Services, jobs: string[], o: FinopsCycleOptions = {}): Promise<RunRecord[]> {
  const f = await finopsServices(s, o.services);
  const runs: RunRecord[] = [];
  for (const job of jobs) runs.push(await runFinopsJob(f, job, { trigger: o.trigger ?? "cli", resend: o.resend, markSent: o.markSent, poll: o.poll }));
  return runs;
}

/** A cycle's summary with the jobs' runs added to the mappings' runs. */
export async function withJobRuns(s: Services, summary: RunSummary, jobRuns: RunRecord[]): Promise<RunSummary> {
  if (!jobRuns.length) return summary;
  const mappingRuns = (await Promise.all(summary.mappings.map((m) => s.state.getRun(m.runId)))).filter((r): r is RunRecord => !!r);
  const runs = [...mappingRuns, ...jobRuns];
  return summarize(s.state, runs.length === 1 ? runs[0].runId : summary.runId, runs);
}
