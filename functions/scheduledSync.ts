import type { InvocationContext, Timer } from "@azure/functions";
import { readFileSync } from "node:fs";
import { FunctionNames, Settings } from "../shared/names.js";
import { jobsOnMainSchedule, startFinopsRuns } from "../shared/finops/finopsTriggers.js";
import { getServices } from "../shared/runtime/services.js";
import { tenantsOf } from "../shared/tenants/tenants.js";
import { timer } from "./register.js";

/** Nightly (per the mapping file's UTC schedule): one delta run per mapping, parents first. */
export async function scheduledSync(t: Timer, context: InvocationContext): Promise<void> {
  if (t.isPastDue) context.warn("scheduled sync is running late (the host was down or busy at the scheduled time)");
  const services = await getServices();
  const { engine } = services;
  const runs = await engine.startRuns({ mode: "delta", dryRun: false, trigger: "timer" });
  // Each registered tenant's runs too, each on its own state (shared/tenants; none without tenants).
  for (const tenant of services.options ? (await tenantsOf(services).everyTenant()).slice(1) : []) runs.push(...await tenant.engine.startRuns({ mode: "delta", dryRun: false, trigger: "timer" }));
  // F&O jobs without a schedule of their own run on this one (the others have a timer each: finopsJobs.ts).
  runs.push(...await startFinopsRuns(services, jobsOnMainSchedule(services), "timer"));
  context.log(`started ${runs.length} run(s): ${runs.map((r) => `${r.mapping}=${r.runId}`).join(", ")}`);
}

/**
 * The schedule comes from the mapping file, read when the worker loads the function (registration
 * cannot wait for async work). Flex Consumption has no WEBSITE_TIME_ZONE: schedules are UTC.
 */
export function scheduleFromConfig(path = process.env[Settings.syncConfigPath] || "sync.config.json"): string {
  const json = JSON.parse(readFileSync(path, "utf8")) as { schedule?: unknown };
  return typeof json.schedule === "string" && json.schedule.trim() ? json.schedule : "0 0 2 * * *";
}

timer(FunctionNames.timer, { schedule: scheduleFromConfig(), runOnStartup: false, useMonitor: true, handler: scheduledSync });
