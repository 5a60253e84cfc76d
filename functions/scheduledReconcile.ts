import type { InvocationContext, Timer } from "@azure/functions";
import { readFileSync } from "node:fs";
import { normaliseSchedule } from "../shared/config/schedule.js";
import { FunctionNames, Settings } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { tenantsOf } from "../shared/tenants/tenants.js";
import { timer } from "./register.js";

/** Weekly by default: one reconcile run per mapping, parents first (read both sides in full, repair, report divergence). */
export async function scheduledReconcile(t: Timer, context: InvocationContext): Promise<void> {
  if (t.isPastDue) context.warn("scheduled reconciliation is running late (the host was down or busy at the scheduled time)");
  // Every tenant's: `default` (the settings') and each registered one, each on its own state.
  const runs = [];
  const base = await getServices();
  for (const { engine } of base.options ? await tenantsOf(base).everyTenant() : [base]) runs.push(...await engine.startRuns({ mode: "reconcile", dryRun: false, trigger: "timer" }));
  context.log(`started ${runs.length} reconcile run(s): ${runs.map((r) => `${r.mapping}=${r.runId}`).join(", ")}`);
}

/** Default `options.reconcileSchedule`: Sunday 03:00 UTC (mapping.ts has the same default). */
export const DEFAULT_RECONCILE_SCHEDULE = "0 0 3 * * 0";

/**
 * `options.reconcileSchedule` of the mapping file, read when the worker loads the function
 * (registration cannot wait for async work), with six fields as the host expects. An invalid
 * schedule is passed on as written: the host refuses it by name, and `npm run validate` explains it.
 */
export function reconcileScheduleFromConfig(path = process.env[Settings.syncConfigPath] || "sync.config.json"): string {
  const json = JSON.parse(readFileSync(path, "utf8")) as { options?: { reconcileSchedule?: unknown } };
  const raw = json.options?.reconcileSchedule;
  if (typeof raw !== "string" || !raw.trim()) return DEFAULT_RECONCILE_SCHEDULE;
  const checked = normaliseSchedule(raw);
  return "value" in checked ? checked.value : raw;
}

timer(FunctionNames.reconcileTimer, { schedule: reconcileScheduleFromConfig(), runOnStartup: false, useMonitor: true, handler: scheduledReconcile });
