import { ceilingRecordsPerSecond, resolveThrottleOptions, type ThrottleOptionsInput } from "../emulators/dataverse/throttleModel.js";

export interface Ceiling {
  /** Sustained best rate (records per real second) for bulk requests of `bulkSize`. */
  sustained: number;
  /** Records one window lets through at once (a fresh window's whole allowance). */
  burstRecords: number;
  /** The best ANY client could average over `records`: the first window's burst, then the sustained rate. */
  forRun: number;
}

/**
 * The ceiling for the request kind the product uses (bulk of `bulkSize`). A finite run starts with
 * an empty window, so a fresh window's whole allowance can be admitted at once; after that, calls
 * are admitted at the sustained rate; and the run ends only when its LAST call has run its latency
 * and execution time (for execution-bound bulk calls that tail is a whole window, which the burst
 * roughly pays for). That run-adjusted figure is the one the ratio uses; `sustained` is printed too.
 */
export function ceilingFor(options: ThrottleOptionsInput, bulkSize: number, records: number): Ceiling {
  const o = resolveThrottleOptions({ ...options, enabled: true });
  const sustained = ceilingRecordsPerSecond(o, "bulk", bulkSize);
  const perRequestExec = o.cost.bulkTargetMs * bulkSize;
  const burstRequests = Math.min(o.maxRequests, Math.floor(o.maxExecutionMs / perRequestExec));
  const burstRecords = burstRequests * bulkSize;
  const lastCallSeconds = (o.cost.latencyMs + o.cost.bulkTargetMs * Math.min(bulkSize, records)) / o.timeScale / 1000;
  // Even the burst cannot beat the concurrency limit: 52 requests in flight, each latency + execution.
  const byConcurrency = ((o.maxConcurrent * 1000) / (o.cost.latencyMs + perRequestExec)) * bulkSize * o.timeScale;
  const seconds = Math.max(Math.max(0, records - burstRecords) / sustained + lastCallSeconds, records / byConcurrency);
  return { sustained, burstRecords, forRun: records / seconds };
}

/** Service protection with the documented RATES (6,000 requests and 1,200 s of execution per 300 s) over a shorter window. */
export function scaledLimits(windowSeconds: number, timeScale: number): ThrottleOptionsInput {
  const share = windowSeconds / 300;
  return { enabled: true, timeScale, windowSeconds, maxRequests: Math.max(1, Math.round(6000 * share)), maxExecutionMs: 1_200_000 * share };
}

/** The shared budget's limits in real ms for these emulator limits: both dimensions, or requests only. */
export function budgetLimits(limits: ThrottleOptionsInput, windowRealMs: number, meterExecution: boolean): { maxRequests: number; maxExecutionMs?: number; windowMs: number } {
  const o = resolveThrottleOptions({ ...limits, enabled: true });
  return { maxRequests: o.maxRequests, maxExecutionMs: meterExecution ? o.maxExecutionMs / o.timeScale : undefined, windowMs: windowRealMs };
}
