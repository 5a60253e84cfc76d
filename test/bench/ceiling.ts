import { ceilingRecordsPerSecond, executionSlots, resolveThrottleOptions, type ThrottleOptionsInput } from "../emulators/dataverse/throttleModel.js";

export interface Ceiling {
  /** Sustained best rate (records per real second) for bulk requests of `bulkSize`, over all servers. */
  sustained: number;
  /** Records the request limit lets through at once (a fresh window's request allowance, all servers). */
  burstRecords: number;
  /** The best ANY client could average over `records` (see ceilingFor). */
  forRun: number;
}

/**
 * An upper bound for every client, whatever its call sizes or concurrency. The emulator charges
 * execution time as it is spent and runs at most `executionSlots` requests of a user at once on a
 * server (throttleModel.ts), so by real time T no client has had more than
 *   slots × servers × (T − latency) × timeScale
 * simulated ms executed (a request executes only after its latency). Every record costs at least
 * the cheapest per-record execution of the cost model (a bulk Target), so a run of `records` takes
 *   T ≥ latency + records × cheapest / (slots × servers)      (simulated ms, / timeScale for real)
 * and no less than the request and concurrency limits allow for calls of `bulkSize`, the product's
 * size (a fresh window's requests at once, then the sustained request rate). `forRun` is
 * records / T. The first window's execution is no burst any more (before, execution was charged at
 * admission and a fresh window admitted its whole allowance at once).
 */
export function ceilingFor(options: ThrottleOptionsInput, bulkSize: number, records: number): Ceiling {
  const o = resolveThrottleOptions({ ...options, enabled: true });
  const sustained = ceilingRecordsPerSecond(o, "bulk", bulkSize);
  const slots = Math.min(executionSlots(o), o.maxExecutionMs / (o.windowSeconds * 1000));
  const cheapestMs = Math.min(o.cost.bulkTargetMs, o.cost.batchOperationMs, o.cost.writeMs);
  const byExecutionMs = o.cost.latencyMs + (records * cheapestMs) / (slots * o.servers);
  const calls = Math.ceil(records / Math.max(1, bulkSize));
  const burstRequests = o.maxRequests * o.servers;
  const byRequestsMs = Math.max(0, calls - burstRequests) * ((o.windowSeconds * 1000) / burstRequests) + o.cost.latencyMs;
  const byConcurrencyMs = (calls * (o.cost.latencyMs + o.cost.bulkTargetMs * Math.min(bulkSize, records))) / (o.maxConcurrent * o.servers);
  const seconds = Math.max(byExecutionMs, byRequestsMs, byConcurrencyMs) / o.timeScale / 1000;
  return { sustained, burstRecords: burstRequests * bulkSize, forRun: records / seconds };
}

/** Service protection with the documented RATES (6,000 requests and 1,200 s of execution per 300 s) over a shorter window, on `servers` web servers. */
export function scaledLimits(windowSeconds: number, timeScale: number, servers = 1): ThrottleOptionsInput {
  const share = windowSeconds / 300;
  return { enabled: true, timeScale, windowSeconds, servers, maxRequests: Math.max(1, Math.round(6000 * share)), maxExecutionMs: 1_200_000 * share };
}

/** What a benchmark worker needs for a shared budget: one web server's limits in the service's (simulated) ms, and the clock to read them with. */
export interface BudgetLimits {
  maxRequests: number;
  maxExecutionMs?: number;
  /** The window in the service's ms. */
  windowMs: number;
  /** The worker's Dataverse client runs on a clock this much faster than real time (test/support/scaledClock.ts)... */
  timeScale: number;
  /** ...counted from this real time on: processes that share the budget row share it. */
  clockEpochMs: number;
  /** The budget's fixed window slack: 100 real ms, in the service's ms. */
  windowMarginMs: number;
}

/**
 * The shared budget's limits for these emulator limits, in the service's time: both dimensions, or
 * requests only. They are ONE server's limits, as the product's are (6,000 and 1,200 s per 300 s);
 * the budget learns how many servers its requests spread over. (`_windowRealMs` is no longer used:
 * the window is the service's, read on the scaled clock.)
 */
export function budgetLimits(limits: ThrottleOptionsInput, meterExecution: boolean): BudgetLimits {
  const o = resolveThrottleOptions({ ...limits, enabled: true });
  return {
    maxRequests: o.maxRequests,
    maxExecutionMs: meterExecution ? o.maxExecutionMs : undefined,
    windowMs: o.windowSeconds * 1000,
    timeScale: o.timeScale,
    clockEpochMs: Date.now(),
    windowMarginMs: 100 * o.timeScale,
  };
}
