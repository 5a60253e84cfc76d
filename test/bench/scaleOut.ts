import { writeFileSync } from "node:fs";
import type { EmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { resolveThrottleOptions, type ThrottleOptionsInput } from "../emulators/dataverse/throttleModel.js";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { budgetLimits, ceilingFor } from "./ceiling.js";
import { runWorker } from "./runWorker.js";

export interface ScaleOutRun {
  shared: boolean;
  workers: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  vsCeiling: number;
  requests: number;
  throttled: number;
  throttledShare: number;
  failed: number;
}

export interface ScaleOutOptions {
  stack: EmulatorStack;
  storage: string;
  env: Record<string, string>;
  config: SyncConfigInput;
  tablePrefix: string;
  bulkSize: number;
  workers: number;
  records: number;
  windowRealMs: number;
  limits: ThrottleOptionsInput;
  /** false: the shared budget counts requests only (as before execution time was metered). */
  meterExecution: boolean;
  /** Only the shared-budget run (`--skip workersAlone`): the processes on their own are left out. */
  skipAlone?: boolean;
  log: (line: string) => void;
}

/**
 * N worker processes with the same client id bulk-write disjoint slices at the same moment: first
 * each on its own (what scale-out does today), then sharing one budget through Table Storage.
 */
export async function measureWorkers(o: ScaleOutOptions): Promise<{ alone?: ScaleOutRun; shared: ScaleOutRun }> {
  const alone = o.skipAlone ? undefined : await once(o, false, 0);
  if (alone) await new Promise((r) => setTimeout(r, o.windowRealMs));
  const shared = await once(o, true, o.records);
  return { alone, shared };
}

async function once(o: ScaleOutOptions, shared: boolean, offset: number): Promise<ScaleOutRun> {
  const per = Math.ceil(o.records / o.workers);
  const startAt = Date.now() + 3_000; // every process is up and has its token by then
  const budget = shared ? { tableName: `budget${Date.now().toString(36)}`, ...budgetLimits(o.limits, o.meterExecution) } : undefined;
  const results = await Promise.all(Array.from({ length: o.workers }, (_, w) => runWorker({
    kind: "write", env: o.env, config: o.config, tablePrefix: `${o.tablePrefix}w${w}`, bulkSize: o.bulkSize, budget, startAt,
    serviceClock: { timeScale: resolveThrottleOptions(o.limits).timeScale, epochMs: startAt },
    from: 1_000_000 + offset + w * per, to: 1_000_000 + offset + Math.min(o.records, (w + 1) * per),
  })));
  // Wall time from the first worker's start to the last one's end (a worker that starts late must not shorten it).
  const seconds = (Math.max(...results.map((r) => r.startedAt + r.ms)) - Math.min(...results.map((r) => r.startedAt))) / 1000;
  const requests = results.reduce((s, r) => s + r.requests, 0);
  const throttled = results.reduce((s, r) => s + r.throttled, 0);
  const failed = results.reduce((s, r) => s + (r.failed ?? 0), 0);
  const recordsPerSecond = (o.records - failed) / seconds;
  const run = {
    shared, workers: o.workers, records: o.records, seconds, recordsPerSecond,
    vsCeiling: recordsPerSecond / ceilingFor(o.limits, o.bulkSize, o.records).forRun,
    requests, throttled, throttledShare: requests ? throttled / requests : 0, failed,
  };
  if (shared && process.env.BENCH_DEBUG) o.log(`budgets: ${JSON.stringify(results.map((r) => r.budget))}`);
  if (shared && process.env.BENCH_CALLS_FILE) {
    // Every bulk call of the shared run: [start s, duration s, server, status], for a look at where the 429s fall.
    const calls = o.stack.dataverse.log.entries().filter((e) => e.at >= startAt - 1_000 && e.method === "POST" && !e.inBatch);
    writeFileSync(process.env.BENCH_CALLS_FILE, JSON.stringify(calls.map((e) => [(e.at - startAt) / 1000, e.durationMs / 1000, e.server, e.status])));
  }
  o.log(`${o.workers} workers ${shared ? "sharing one budget" : "each on its own"}: ${run.recordsPerSecond.toFixed(0)} rec/s, ${(run.vsCeiling * 100).toFixed(0)} % of ceiling, ${throttled}/${requests} requests throttled, ${failed} failed`);
  return run;
}
