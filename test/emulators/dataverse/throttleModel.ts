/**
 * Options and the cost model of the emulator's service protection (see README.md, "Service
 * protection and cost model"). Everything here is in SIMULATED time; `timeScale` says how many
 * simulated milliseconds pass per real millisecond.
 */

export interface CostModel {
  /** Network + service overhead of every request, simulated ms. */
  latencyMs: number;
  /** Server execution time of a single (non-batch) write. */
  writeMs: number;
  /** Server execution time of a single read (GET). */
  readMs: number;
  /** Per operation inside a `$batch` (they run one after another on the server). */
  batchOperationMs: number;
  /** Per Target inside a bulk message (CreateMultiple, UpdateMultiple, UpsertMultiple). */
  bulkTargetMs: number;
}

export interface ThrottleOptions {
  /** Off by default so tests that do not care about limits run unthrottled. */
  enabled: boolean;
  windowSeconds: number;
  maxRequests: number;
  /** Combined execution time per user per window, simulated ms (1,200 s). */
  maxExecutionMs: number;
  maxConcurrent: number;
  dopHint: number;
  /** 60 => a 300 s window lasts 5 s of real time; costs and waits shrink by the same factor. */
  timeScale: number;
  /** Web servers, each enforcing the limits on its own (Dataverse: per user, per web server). */
  servers: number;
  cost: CostModel;
}

export type RequestKind = "single" | "batch" | "bulk";

export const DEFAULT_COST: CostModel = {
  latencyMs: 20,
  writeMs: 10,
  readMs: 5,
  batchOperationMs: 10,
  bulkTargetMs: 2,
};

export const DEFAULT_THROTTLE: ThrottleOptions = {
  enabled: false,
  windowSeconds: 300,
  maxRequests: 6000,
  maxExecutionMs: 1_200_000,
  maxConcurrent: 52,
  dopHint: 50,
  timeScale: 1,
  servers: 1,
  cost: DEFAULT_COST,
};

export type ThrottleOptionsInput = Partial<Omit<ThrottleOptions, "cost">> & { cost?: Partial<CostModel> };

export function resolveThrottleOptions(options: ThrottleOptionsInput | undefined): ThrottleOptions {
  const resolved: ThrottleOptions = {
    ...DEFAULT_THROTTLE,
    ...(options ?? {}),
    cost: { ...DEFAULT_COST, ...(options?.cost ?? {}) },
  };
  for (const key of ["windowSeconds", "maxRequests", "maxExecutionMs", "maxConcurrent", "timeScale"] as const) {
    if (!(resolved[key] > 0)) throw new RangeError(`throttle option ${key} must be a positive number`);
  }
  if (!(Number.isInteger(resolved.servers) && resolved.servers >= 1)) throw new RangeError("throttle option servers must be a whole number >= 1");
  return resolved;
}

/** Simulated server execution time of one request of this kind carrying `operations` operations. */
export function executionCostMs(cost: CostModel, kind: RequestKind, operations: number, method?: string): number {
  switch (kind) {
    case "single":
      return method?.toUpperCase() === "GET" ? cost.readMs : cost.writeMs;
    case "batch":
      return Math.max(1, operations) * cost.batchOperationMs;
    case "bulk":
      return Math.max(1, operations) * cost.bulkTargetMs;
  }
}

/**
 * Requests of one user that execute at once on one server: the execution-time limit as a rate
 * (maxExecutionMs per window: 1,200 s per 300 s is 4), at least 1. Execution is charged as it is
 * spent, so a user's execution per window on a server never exceeds slots × window.
 */
export function executionSlots(o: Pick<ThrottleOptions, "maxExecutionMs" | "windowSeconds">): number {
  return Math.max(1, Math.floor(o.maxExecutionMs / (o.windowSeconds * 1000)));
}

/**
 * The best sustainable write throughput (records per REAL second) one user can reach under the
 * limits and the cost model, over all `servers`, sending `kind` requests of `batchSize` records:
 * per server the smallest of
 * - the request limit:     maxRequests / window                                   requests/s
 * - the execution limit:   min(slots, maxExecutionMs / window) / execution          requests/s
 * - the concurrency limit: maxConcurrent / (latency + execution)                  requests/s
 * times the records per request, times `timeScale` (simulated seconds per real second), times servers.
 */
export function ceilingRecordsPerSecond(options: ThrottleOptionsInput | undefined, kind: RequestKind, batchSize: number): number {
  const o = resolveThrottleOptions(options);
  const records = kind === "single" ? 1 : Math.max(1, batchSize);
  const execMs = executionCostMs(o.cost, kind, records);
  const byRequests = o.maxRequests / o.windowSeconds;
  const byExecution = (Math.min(executionSlots(o), o.maxExecutionMs / (o.windowSeconds * 1000)) * 1000) / execMs;
  const byConcurrency = (o.maxConcurrent * 1000) / (o.cost.latencyMs + execMs);
  return Math.min(byRequests, byExecution, byConcurrency) * records * o.timeScale * o.servers;
}
