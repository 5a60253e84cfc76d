import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import { readFileSync } from "node:fs";
import { finopsJobsApi } from "../shared/api/finopsApi.js";
import { servicesUnavailable } from "../shared/api/apiTypes.js";
import { normaliseSchedule } from "../shared/config/schedule.js";
import { startFinopsRuns } from "../shared/finops/finopsTriggers.js";
import { Settings } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { http, timer } from "./register.js";

export const FinopsFunctionNames = { jobs: "finopsJobs" } as const;
/** A job with a `schedule` of its own gets a timer named `finops-<job>`; the others run on the scheduled sync's timer. */
export const FINOPS_TIMER_PREFIX = "finops-";

export async function finopsJobs(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = await getServices().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  if (services instanceof Error) return servicesUnavailable(services, (m) => context.error(m));
  return finopsJobsApi(req, services);
}

/** The timer of one job: a queued run of it on `sync-runs` (the run worker runs it). */
export function finopsTimer(job: string) {
  return async (t: Timer, context: InvocationContext): Promise<void> => {
    if (t.isPastDue) context.warn(`F&O job ${job} is running late (the host was down or busy at the scheduled time)`);
    const [run] = await startFinopsRuns(await getServices(), [job], "timer");
    context.log(`started run ${run.runId} of F&O job ${job}`);
  };
}

/**
 * The jobs with a schedule of their own, read from the mapping file when the worker loads the
 * function (registration cannot wait for async work); a file that cannot be read registers none
 * (start-up then fails on it by name in getServices).
 */
export function scheduledJobsFromConfig(path = process.env[Settings.syncConfigPath] || "sync.config.json"): { name: string; schedule: string }[] {
  let json: { finops?: unknown };
  try {
    json = JSON.parse(readFileSync(path, "utf8")) as { finops?: unknown };
  } catch {
    return [];
  }
  if (!Array.isArray(json.finops)) return [];
  return json.finops.flatMap((j: { name?: unknown; schedule?: unknown }) => {
    if (typeof j?.name !== "string" || typeof j.schedule !== "string" || !j.schedule.trim()) return [];
    const checked = normaliseSchedule(j.schedule);
    return [{ name: j.name, schedule: "value" in checked ? checked.value : j.schedule }];
  });
}

http(FinopsFunctionNames.jobs, { methods: ["GET"], route: "finops/jobs", authLevel: "anonymous", handler: finopsJobs });
for (const job of scheduledJobsFromConfig()) {
  timer(`${FINOPS_TIMER_PREFIX}${job.name}`, { schedule: job.schedule, runOnStartup: false, useMonitor: true, handler: finopsTimer(job.name) });
}
