/**
 * One benchmark worker PROCESS: its own services (token provider, DataverseClient, Table state)
 * against the parent's emulators and Azurite, so its memory and its throttle behaviour are its own.
 * Jobs come over IPC; the answer goes back the same way.
 *   cycle: one complete sync cycle (`npm run sync` in process) — the d365-sync measurement;
 *   write: bulk-write a slice of contacts through services.dataverse.writeMany — the scale-out
 *          measurement, where several workers share (or not) one throttle budget.
 */
import { writeHeapSnapshot } from "node:v8";
import { loadSettings } from "../../shared/config/settings.js";
import { parseSyncConfig } from "../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import type { BulkWrite, Clock, Logger } from "../../shared/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runCycle } from "../../shared/runtime/syncCycle.js";
import { TableBudgetStore } from "../../shared/throttle/tableBudgetStore.js";
import { ThrottleBudget } from "../../shared/throttle/throttleBudget.js";
import { scaledClock } from "../support/scaledClock.js";
import { contactBody } from "./benchData.js";

export interface BudgetJob {
  tableName: string;
  /** One web server's limits, in the service's (simulated) ms: ceiling.ts budgetLimits. */
  maxRequests: number;
  /** Execution time per window; omitted: requests only. */
  maxExecutionMs?: number;
  windowMs: number;
  /** The service's time: the Dataverse client and the budget run on scaledClock(timeScale, clockEpochMs). */
  timeScale?: number;
  clockEpochMs?: number;
  windowMarginMs?: number;
  /** Web servers' limits the budget may learn to use (default the product's). */
  maxServers?: number;
}

/** The emulated service's time, when the job has no budget to carry it. */
export interface ServiceClockJob {
  timeScale: number;
  epochMs: number;
}

export type WorkerJob =
  | { kind: "cycle"; env: Record<string, string>; config: SyncConfigInput; tablePrefix: string; full: boolean; bulkSize: number; budget?: BudgetJob; serviceClock?: ServiceClockJob }
  | { kind: "write"; env: Record<string, string>; config: SyncConfigInput; tablePrefix: string; from: number; to: number; bulkSize: number; budget?: BudgetJob; startAt: number; serviceClock?: ServiceClockJob };

export interface WorkerResult {
  ms: number;
  /** Date.now() when the measured part began (after process start and the first token). */
  startedAt: number;
  requests: number;
  throttled: number;
  waitedMs: number;
  maxRssMb: number;
  totals?: { written: number; skipped: number; conflicts: number; failed: number };
  failed?: number;
  /** The shared budget's view: what it reserved and saw (ms), and its estimate for one full bulk call. */
  budget?: { reservedMs: number; observedMs: number; bulkEstimateMs: number; servers: number };
  error?: string;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
/** BENCH_DEBUG: the sync's info, warnings and errors on stderr, with seconds since the worker started. */
const stderrLogger: Logger = (() => {
  const t0 = performance.now();
  const line = (level: string) => (message: string, props?: Record<string, unknown>) =>
    void process.stderr.write(`  [worker ${((performance.now() - t0) / 1000).toFixed(1)} s] ${level} ${message}${props ? ` ${JSON.stringify(props)}` : ""}\n`);
  return { debug() {}, info: line("info"), warn: line("warn"), error: line("error") };
})();

let budgetInUse: ThrottleBudget | undefined;

/**
 * The emulated service's time reaches the product only as its Dataverse client's Clock: scaled as
 * the emulator is, so Retry-After seconds and the budget's window are the service's.
 */
function dataverseClockOf(job: WorkerJob): Clock | undefined {
  const b = job.budget;
  if (b?.timeScale !== undefined) return scaledClock(b.timeScale, b.clockEpochMs);
  return job.serviceClock && scaledClock(job.serviceClock.timeScale, job.serviceClock.epochMs);
}

let serversTrace: number[] | undefined;

async function services(job: WorkerJob): Promise<Services> {
  const settings = loadSettings(job.env);
  const dataverseClock = dataverseClockOf(job);
  let dataverseBudget: ThrottleBudget | undefined;
  if (job.budget) {
    const b = job.budget;
    const store = new TableBudgetStore({ connectionString: job.env.AzureWebJobsStorage, tableName: b.tableName });
    await store.ensure();
    dataverseBudget = new ThrottleBudget({
      store, identity: settings.dynamics.clientId, maxRequests: b.maxRequests, maxExecutionMs: b.maxExecutionMs, windowMs: b.windowMs,
      clock: dataverseClock, windowMarginMs: b.windowMarginMs, maxServers: b.maxServers,
    });
  }
  budgetInUse = dataverseBudget;
  if (dataverseBudget && process.env.BENCH_SERVERS_TRACE) {
    // The learned server count every real second, printed when the worker ends (a look at what the budget allowed).
    const trace: number[] = [];
    const timer = setInterval(() => trace.push(dataverseBudget.serverCount), 1000);
    timer.unref();
    serversTrace = trace;
  }
  return createServices({
    settings, config: parseSyncConfig(job.config, "bench config"), queues: "memory", logger: process.env.BENCH_DEBUG ? stderrLogger : quiet,
    tablePrefix: job.tablePrefix, dataverseBudget, dataverseBulkSize: job.bulkSize, dataverseClock,
  });
}

/** BENCH_DEBUG: the largest heap, external and array-buffer figures seen (MB), sampled twice a second. */
function sampleMemory(): () => Record<string, number> {
  const peak: Record<string, number> = {};
  const timer = setInterval(() => {
    for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, Math.round(v / 1048576));
  }, 500);
  timer.unref();
  return () => (clearInterval(timer), peak);
}

async function run(job: WorkerJob): Promise<WorkerResult> {
  const memory = process.env.BENCH_DEBUG ? sampleMemory() : undefined;
  const s = await services(job);
  await s.checkToken();
  let totals: WorkerResult["totals"];
  let failed: number | undefined;
  let started: number;
  let startedAt = Date.now();
  if (job.kind === "cycle") {
    started = performance.now();
    const snapAt = Number(process.env.BENCH_HEAP_SNAPSHOT_AT_MS);
    if (snapAt > 0) setTimeout(() => process.stderr.write(`heap snapshot: ${writeHeapSnapshot()}\n`), snapAt).unref();
    totals = (await runCycle(s, { full: job.full, dryRun: false })).summary.totals;
  } else {
    const writes: BulkWrite[] = [];
    for (let i = job.from; i < job.to; i++) writes.push({ ref: String(i), kind: "create", body: contactBody(i) });
    // All workers start together, as scaled-out instances picking up a burst of queue messages.
    await new Promise((r) => setTimeout(r, Math.max(0, job.startAt - Date.now())));
    started = performance.now();
    startedAt = Date.now();
    const results = await s.dataverse.writeMany("contacts", "contact", writes);
    failed = results.filter((r) => !r.ok).length;
  }
  const ms = performance.now() - started;
  if (memory) process.stderr.write(`worker memory peaks (MB): ${JSON.stringify(memory())}\n`);
  if (serversTrace) process.stderr.write(`server count by second: ${serversTrace.join("")}\n`);
  const st = s.dataverse.stats();
  const b = budgetInUse?.stats();
  const budget = b && { reservedMs: b.reservedMs, observedMs: b.observedMs, bulkEstimateMs: budgetInUse!.estimate({ kind: "bulk", records: job.bulkSize }), servers: b.servers };
  return { ms, startedAt, requests: st.requests, throttled: st.throttled, waitedMs: st.waitedMs, maxRssMb: process.resourceUsage().maxRSS / 1024, totals, failed, budget };
}

process.once("message", (job: WorkerJob) => {
  run(job)
    .then((result) => process.send!(result, () => process.exit(0)))
    .catch((e: unknown) => process.send!({ ms: 0, startedAt: 0, requests: 0, throttled: 0, waitedMs: 0, maxRssMb: 0, error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)));
});
