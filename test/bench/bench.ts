/**
 * `npm run bench -- [--records N] [--json]`: the real pipeline against the emulators with service
 * protection on, time-scaled. See docs/benchmark.md for what each figure means and how to read it.
 */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { startEmulatorStack, type EmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { startAzurite } from "../support/azurite.js";
import { GROUPS, groupId, mentorId, mentorRecord } from "./benchData.js";
import type { WorkerJob } from "./benchWorker.js";
import { budgetLimits, ceilingFor, scaledLimits } from "./ceiling.js";
import { checkArrival } from "./peers/peerKit.js";
import { PeerNames, runPeers, type PeerName } from "./peers/runPeers.js";
import { printReport } from "./report.js";
import { aggregateRuns, runRepeatedly, spreadLines } from "./runs.js";
import { measureStorm } from "./storm.js";
import { measureToApp } from "./toApp.js";
import { measureWebhookLatency } from "./webhookLatency.js";
import { prepareWorkers, runWorker } from "./runWorker.js";
import { timelineOf } from "./timeline.js";
import { measureWorkers } from "./scaleOut.js";
import { serversFigures } from "./servers.js";

const program = new Command("bench")
  .option("--records <n>", "app records (mentors) in the full load (default 20,000 per web server: about ten windows at any --servers)", (v) => Number.parseInt(v, 10))
  .option("--json", "print every figure as one JSON object on the last line", false)
  .option("--time-scale <x>", "emulator time scale (simulated seconds per real second)", Number, 0.15)
  .option("--window-seconds <s>", "service-protection window, simulated seconds (limits keep the documented rates)", Number, 1)
  .option("--servers <n>", "web servers the emulated environment has, each with its own limits (the client spreads over them, affinity off)", (v) => Number.parseInt(v, 10), 1)
  .option("--bulk-size <n>", "records per write message and bulk request to start from", (v) => Number.parseInt(v, 10), 500)
  .option("--workers <n>", "worker processes for the shared-budget measurement (0 skips it)", (v) => Number.parseInt(v, 10), 4)
  .option("--worker-records <n>", "records the workers write together (default records / 2)", (v) => Number.parseInt(v, 10))
  .option("--no-budget", "run the sync without the shared throttle budget (429s and Retry-After only)")
  .option("--requests-only-budget", "the shared budget counts requests only, not execution time (the behaviour before it metered time)", false)
  .option("--load-only", "measure the full load and the run that reads its echoes (throughput, pipeline, memory); no delta, scale-out or JSON", false)
  .option("--naive-seconds <s>", "how long the naive baseline runs (real seconds, on its own clock)", Number, 60)
  .option("--naive-window-seconds <s>", "the naive baseline's window (simulated seconds, same rates): Retry-After's whole second is 1/N of it", Number, 20)
  .option("--naive-time-scale <x>", "the naive baseline's time scale (its rate is reported at --time-scale's pace)", Number, 1)
  .option("--peer-seconds <s>", "how long the $batch peers run at most (real seconds)", Number, 30)
  .option("--runs <n>", "run the whole benchmark n times (each in its own process) and report medians with their spread (default 3; 1 with --load-only)", (v) => Number.parseInt(v, 10))
  .option("--skip <parts>", `leave out parts of the benchmark, comma-separated: ${[...PeerNames, "workersAlone", "storm", "webhook", "toApp"].join(", ")}`, (v) => v.split(",").map((p) => p.trim()).filter(Boolean), [] as string[])
  .option("--storm-windows <n>", "windows the throttling storm lasts (our load must outlast it: see docs/benchmark.md)", (v) => Number.parseInt(v, 10), 20)
  .option("--storm-window-seconds <s>", "the storm's service-protection window, simulated seconds (default --window-seconds; the same rates): Retry-After's whole second is 1/N of it", Number)
  .option("--storm-records <n>", "contacts d365-sync writes through the storm (enough to outlast it and the recovery)", (v) => Number.parseInt(v, 10), 40_000)
  .option("--to-app-records <n>", "rows of the Dataverse → app load (default the smaller of --records and 500; see docs/benchmark.md, Dataverse → app)", (v) => Number.parseInt(v, 10))
  .option("--app-rate <n>", "the sample app's write limit (writes/s) for the Dataverse → app load; 0 for none", Number, 200)
  .option("--webhook-seconds <s>", "seconds of each webhook burst rate (10/s and 100/s)", (v) => Number.parseInt(v, 10), 5)
  .option("--export-rows <n>", "only measure the CSV export (npm run export) of this many rows per side, peak RSS included", (v) => Number.parseInt(v, 10))
  .option("--activities <n>", "only measure one run of this many app activities (at most 100,000): Dataverse requests per activity", (v) => Number.parseInt(v, 10))
  .option("--expiry <n>", "only measure expiry rules: n mentors, 1 % expiring; a plain delta run against the run after their date passed", (v) => Number.parseInt(v, 10))
  .option("--finops <n>", "only measure F&O jobs: an export of n rows into the app and an import of n app records into F&O, each in its own process (peak RSS, F&O calls)", (v) => Number.parseInt(v, 10))
  .option("--tenants <n>", "only measure n registered tenants' full loads of --records each, at the same time (shares of the ceiling, spread)", (v) => Number.parseInt(v, 10))
  .option("--tenants-fair", "only measure a tenant's nightly run alone and during another tenant's full load of --records, through the storage queues and the local runner (--runs trials, default 3)", false)
  .parse();
const parsed = program.opts<{ servers: number; records?: number; json: boolean; timeScale: number; windowSeconds: number; bulkSize: number; workers: number; workerRecords?: number; naiveSeconds: number; naiveWindowSeconds: number; naiveTimeScale: number; exportRows?: number; activities?: number; expiry?: number; loadOnly: boolean; budget: boolean; noBudget?: boolean; requestsOnlyBudget: boolean; peerSeconds: number; runs?: number; skip: string[]; stormWindows: number; stormWindowSeconds?: number; stormRecords: number; toAppRecords?: number; appRate: number; webhookSeconds: number }>();
/** The full load spans about ten windows at any server count: the ceiling grows with the servers, so do the records. */
const opts = { ...parsed, records: parsed.records ?? 20_000 * Math.max(1, parsed.servers) };
opts.noBudget = !opts.budget;
const tenantCount = (program.opts() as { tenants?: number }).tenants;
const tenantsFair = (program.opts() as { tenantsFair?: boolean }).tenantsFair === true;
const finopsRows = (program.opts() as { finops?: number }).finops;
const singleMeasurement = tenantsFair || finopsRows !== undefined || tenantCount !== undefined || opts.exportRows !== undefined || opts.expiry !== undefined || opts.activities !== undefined;
const runs = opts.runs ?? (opts.loadOnly || singleMeasurement ? 1 : 3);
const skipped = (part: string) => opts.skip.includes(part);

const log = (line: string) => void (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
const limits = scaledLimits(opts.windowSeconds, opts.timeScale, opts.servers);
const windowRealMs = (opts.windowSeconds * 1000) / opts.timeScale;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function benchConfig(): SyncConfigInput {
  const config = JSON.parse(readFileSync(new URL("../../sync.config.json", import.meta.url), "utf8")) as SyncConfigInput;
  return { ...config, options: { ...config.options, chunkSize: opts.bulkSize, massDeleteMinimum: 1_000_000 } };
}

async function stackWith(storage: string, throttle = limits): Promise<EmulatorStack> {
  // No bodies in the request log: a long load's 500-record bodies would push its first calls out, and only timings are read.
  return startEmulatorStack({ storageConnectionString: storage, seed: false, dataverse: { throttle, log: { bodies: false } } });
}

function writesSince(stack: EmulatorStack, since: number): number {
  const isWrite = (m: string) => m === "POST" || m === "PATCH" || m === "DELETE";
  return stack.dataverse.log.entries().filter((e) => e.at >= since && e.status < 400 && isWrite(e.method) && !e.inBatch).length;
}

/** A measurement that runs on its own (the export, the activities): Azurite, its figures as JSON, exit. */
async function measureAlone(key: string, measure: (storage: string) => Promise<unknown>): Promise<never> {
  const storage = await startAzurite({});
  try {
    const figures = await measure(storage.connectionString);
    if (opts.json) process.stdout.write(`${JSON.stringify({ [key]: figures })}\n`);
  } finally {
    await storage.stop();
  }
  process.exit(0);
}

if (opts.exportRows !== undefined) {
  const { runExportBench } = await import("./exportBench.js");
  await measureAlone("export", (storage) => runExportBench(opts.exportRows!, storage, log));
}

if (finopsRows !== undefined) {
  const { runFinopsBench } = await import("./finopsBench.js");
  await measureAlone("finops", (storage) => runFinopsBench(finopsRows, storage, log));
}

if (opts.expiry !== undefined) {
  const { runExpiryBench } = await import("./expiryBench.js");
  await measureAlone("expiry", (storage) => runExpiryBench(opts.expiry!, storage, log));
}

if (tenantCount !== undefined) {
  const { runTenantsBench } = await import("./tenantsBench.js");
  await measureAlone("tenants", (storage) => runTenantsBench(tenantCount, opts.records, storage, limits, opts.bulkSize, log));
}

if (tenantsFair) {
  const { runTenantsFairBench } = await import("./tenantsFairBench.js");
  await measureAlone("tenantsFair", (storage) => runTenantsFairBench(opts.records, opts.runs ?? 3, storage, limits, log));
}

if (opts.activities !== undefined) {
  const { runActivityBench } = await import("./activityBench.js");
  await measureAlone("activities", (storage) => runActivityBench(opts.activities!, storage, log));
}

if (runs > 1) {
  // Every figure is the median of `runs` complete runs, each in its own process, with its spread.
  const say = (line: string) => void process.stderr.write(`${line}\n`);
  const all = await runRepeatedly(runs, process.argv.slice(2), say);
  const { median, spread, notMeasured } = aggregateRuns(all);
  const out = opts.json ? say : (line: string) => void process.stdout.write(`${line}\n`);
  out(`median of ${runs} runs (smallest–largest):`);
  for (const line of spreadLines(median, spread)) out(`  ${line}`);
  for (const [path, n] of Object.entries(notMeasured)) out(`  ${path}: not reached in ${n} of ${runs} runs`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...median, runs, spread, notMeasured })}\n`);
  process.exit(0);
}

prepareWorkers();
// Azurite keeps every link in memory (two entities per record): give it room for large runs.
const azurite = await startAzurite({ heapMb: opts.records > 100_000 ? 12_288 : undefined });
try {
  const records = opts.records;
  const total = records + GROUPS;
  log(`d365-sync benchmark: ${records} records, time scale ${opts.timeScale}, window ${opts.windowSeconds} s simulated (${(windowRealMs / 1000).toFixed(1)} s real)`);

  // (b) the peers (test/bench/peers), each on its own emulator so its window does not eat into ours.
  const peers = opts.loadOnly ? {} : await runPeers({
    stack: () => stackWith(azurite.connectionString), timeScale: opts.timeScale, records: total, naiveSeconds: opts.naiveSeconds,
    naive: { stack: () => stackWith(azurite.connectionString, scaledLimits(opts.naiveWindowSeconds, opts.naiveTimeScale, opts.servers)), timeScale: opts.naiveTimeScale },
    batchSeconds: opts.peerSeconds, only: PeerNames.filter((p: PeerName) => !skipped(p)), log,
  });

  // (a) d365-sync: a full first load of every mentor (plus the groups they point at), in a worker process.
  const stack = await stackWith(azurite.connectionString);
  for (let g = 0; g < GROUPS; g++) stack.app.put("group", groupId(g), { name: `Group ${g}`, region: `Region ${g % 4}` });
  for (let i = 0; i < records; i++) {
    const r = mentorRecord(i);
    stack.app.put("mentor", r.id, r.data);
  }
  const base = { env: stack.env, config: benchConfig(), tablePrefix: `bench${Date.now().toString(36)}`, bulkSize: opts.bulkSize, serviceClock: { timeScale: opts.timeScale, epochMs: Date.now() } };
  // The sync paces itself with the same shared budget a Functions deployment uses (one process here).
  const budget = { tableName: `budgetsync${Date.now().toString(36)}`, ...budgetLimits(limits, !opts.requestsOnlyBudget) };
  const cycle = (full: boolean) => runWorker({ kind: "cycle", full, ...base, budget: opts.noBudget ? undefined : budget } satisfies WorkerJob);
  const fullRun = await cycle(false);
  const d365Arrival = checkArrival(stack.dataverse.rows("contact"), "m", records);
  log(`full load: ${fullRun.totals?.written} written in ${(fullRun.ms / 1000).toFixed(1)} s, ${fullRun.requests} requests, ${fullRun.throttled} × 429, ${d365Arrival.exactlyOnce ? "every record exactly once" : `${d365Arrival.lost} lost, ${d365Arrival.duplicated} duplicated`}`);
  const timeline = timelineOf(stack.dataverse.log.entries(), fullRun.startedAt, fullRun.ms);
  log(`  pipeline: first bulk call after ${timeline.firstBulkS.toFixed(1)} s, ${timeline.bulkCalls} bulk calls, ${timeline.averageInFlight.toFixed(2)} in flight on average, ${timeline.afterLastBulkS.toFixed(1)} s after the last one`);
  if (process.env.BENCH_DEBUG) log(`  bulk calls [start s, duration s]: ${JSON.stringify(timeline.calls.map(([a, d]) => [Number(a.toFixed(2)), Number(d.toFixed(2))]))}`);

  // The next run reads the full load's own echoes once (every row the load wrote comes back in the
  // Dataverse delta) and skips them; it is reported, but the nightly figures are taken after it.
  const settleRun = await cycle(false);
  log(`first run after the load (echoes): ${settleRun.totals?.written} written, ${settleRun.totals?.skipped} skipped in ${(settleRun.ms / 1000).toFixed(1)} s, ${settleRun.requests} requests, peak RSS ${settleRun.maxRssMb.toFixed(0)} MB`);

  if (opts.loadOnly) {
    const ceiling = ceilingFor(limits, opts.bulkSize, total);
    log(`load only: ${(total / (fullRun.ms / 1000)).toFixed(1)} records/s = ${(total / (fullRun.ms / 1000) / ceiling.forRun).toFixed(3)} of the ceiling (${ceiling.forRun.toFixed(1)}), peak RSS ${fullRun.maxRssMb.toFixed(0)} MB (load), ${settleRun.maxRssMb.toFixed(0)} MB (the run after it)`);
    await stack.stop();
    await azurite.stop();
    process.exit(0);
  }

  // An unchanged table: nothing may be written.
  const mark = Date.now();
  const idleRun = await cycle(false);
  const idleWrites = writesSince(stack, mark);
  log(`unchanged: ${idleWrites} Dataverse writes, ${idleRun.requests} requests, ${(idleRun.ms / 1000).toFixed(2)} s`);

  // Nightly delta: 1 % of the records changed in the app.
  await pause(windowRealMs);
  const changed = Math.max(1, Math.round(records / 100));
  for (let k = 0; k < changed; k++) {
    const i = Math.floor((k * records) / changed);
    stack.app.patch("mentor", mentorId(i), { score: 100 + k });
  }
  const deltaRun = await cycle(false);
  log(`delta (${changed} changed): ${deltaRun.totals?.written} written in ${(deltaRun.ms / 1000).toFixed(2)} s, ${deltaRun.requests} requests`);

  // Scale-out: several worker processes, one identity, one emulator, one Azurite.
  await pause(windowRealMs);
  const workerRecords = opts.workerRecords ?? Math.floor(records / 2);
  const scale = opts.workers > 0 ? await measureWorkers({ stack, storage: azurite.connectionString, ...base, workers: opts.workers, records: workerRecords, windowRealMs, limits, meterExecution: !opts.requestsOnlyBudget, skipAlone: skipped("workersAlone"), log }) : undefined;
  await stack.stop();

  // A throttling storm from another client on the same identity, on a fresh emulator.
  const stormWindowSeconds = opts.stormWindowSeconds ?? opts.windowSeconds;
  const stormLimits = scaledLimits(stormWindowSeconds, opts.timeScale, opts.servers);
  const storm = skipped("storm") ? undefined : await measureStorm({
    stack: () => stackWith(azurite.connectionString, stormLimits), config: base.config, tablePrefix: `${base.tablePrefix}st`, bulkSize: opts.bulkSize,
    limits: stormLimits, windowRealMs: (stormWindowSeconds * 1000) / opts.timeScale, meterExecution: !opts.requestsOnlyBudget, records: opts.stormRecords, preWindows: 3, stormWindows: opts.stormWindows, log,
  });
  if (storm) log(`storm: our 429 share ${(storm.throttledShare * 100).toFixed(1)} % during it, below 5 % after ${storm.settleS?.toFixed(1) ?? "—"} s (${storm.requestsAfterSettle} of our requests after that point), throughput back ${storm.recoverS?.toFixed(1) ?? "—"} s after it (simulated); ${storm.beforePerWindow.toFixed(0)} records per window before, ${storm.worstPerWindow} in the worst window`);

  // Dataverse → app: a first load from Dataverse into the rate-limited sample app.
  const toApp = skipped("toApp") ? undefined : await measureToApp({
    stack: () => stackWith(azurite.connectionString), config: base.config, tablePrefix: `${base.tablePrefix}ta`, bulkSize: opts.bulkSize,
    budget: opts.noBudget ? undefined : { ...budget, tableName: `${budget.tableName}ta` }, serviceClock: base.serviceClock, records: opts.toAppRecords ?? Math.min(records, 500), appLimit: opts.appRate > 0 ? opts.appRate : undefined, log,
  });

  // Webhook latency through Azurite queues and the local runner (service protection off).
  const webhook = skipped("webhook") ? undefined : await measureWebhookLatency({ storage: azurite.connectionString, config: base.config, rates: [10, 100], seconds: opts.webhookSeconds, log });

  const ceiling = ceilingFor(limits, opts.bulkSize, total);
  const d365 = total / (fullRun.ms / 1000);
  printReport({
    opts, machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memoryGb: totalmem() / 2 ** 30, node: process.version },
    records: total, d365, d365Arrival, peers, ceiling, fullRun, settleRun, deltaRun, changed, idleWrites, scale, storm, toApp, webhook,
    servers: serversFigures(limits, opts.bulkSize, total, fullRun),
  }, log);
} finally {
  await azurite.stop();
}
