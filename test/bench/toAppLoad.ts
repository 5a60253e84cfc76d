/**
 * `node scripts/node22.mjs --import tsx test/bench/toAppLoad.ts [records] [app writes/s | -] [--full-again]`: only the
 * Dataverse → app first load of test/bench/toApp.ts (N contacts made in Dynamics, an empty app),
 * without service protection and, unless a rate is given, without an app rate limit (over it the
 * sample app answers 429 with Retry-After), to measure the sync worker's peak RSS (it runs with the product's
 * V8 flags, WORKER_NODE_OPTIONS). Above 20,000 rows the planner keeps the complete read compact
 * (shared/sync/compactPlan.ts). `--full-again` then runs a full cycle over the links the load made,
 * in a fresh worker (its peak RSS is what a complete read of a linked mapping holds). Prints the
 * figures as JSON on the last line; above 100,000 rows, a progress line on stderr every minute (the
 * records in the app, the worker's resident and peak memory from /proc; BENCH_PROGRESS_MS sets the interval).
 *
 * The app ids go back to Dataverse a write message at a time (UpdateMultiple of up to 500 rows,
 * shared/sync/appWriter.ts), not one request a row. The worker's Dataverse clock still runs SPEED
 * times faster than real time, so that the client's pacing to the documented 6,000 requests per
 * 300 s does not make a memory measurement wait. (Not much faster: the client's HTTP bounds run on
 * that clock too, and the first page of a large table must come within them.)
 */
import { readFileSync } from "node:fs";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { startEmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { startAzurite } from "../support/azurite.js";
import { prepareWorkers } from "./runWorker.js";
import { measureToApp } from "./toApp.js";

const records = Number.parseInt(process.argv[2] ?? "100000", 10);
if (!Number.isInteger(records) || records < 1) throw new Error(`records must be a positive whole number, not "${process.argv[2]}"`);
const fullAgain = process.argv.includes("--full-again");
const appLimit = process.argv[3] === undefined || process.argv[3] === "-" || process.argv[3] === "--full-again" ? undefined : Number(process.argv[3]);
if (appLimit !== undefined && !(appLimit > 0)) throw new Error(`the app's writes per second must be a positive number, not "${process.argv[3]}"`);
const bulkSize = 500;
const SPEED = 20;
const base = JSON.parse(readFileSync(new URL("../../sync.config.json", import.meta.url), "utf8")) as SyncConfigInput;
const config: SyncConfigInput = { ...base, options: { ...base.options, chunkSize: bulkSize, massDeleteMinimum: 1_000_000 } };

prepareWorkers();
// Azurite keeps every link in memory: give it room for large loads.
const azurite = await startAzurite({ heapMb: records > 100_000 ? 12_288 : undefined });
try {
  const result = await measureToApp({
    // No bodies in the request log: only the sync worker's memory is measured, not the emulator's.
    stack: () => startEmulatorStack({ storageConnectionString: azurite.connectionString, seed: false, dataverse: { log: { bodies: false } } }),
    config, tablePrefix: `toapp${Date.now().toString(36)}`, bulkSize, records, appLimit, fullAgain, serviceClock: { timeScale: SPEED, epochMs: Date.now() }, log: (line) => void process.stderr.write(`${line}\n`),
    // A long run says how far it got (records in the app, the worker's resident and peak memory) every minute.
    progressMs: Number(process.env.BENCH_PROGRESS_MS) || (records > 100_000 ? 60_000 : undefined),
  });
  process.stdout.write(`${JSON.stringify({ toApp: result })}\n`);
} finally {
  await azurite.stop();
}
process.exit(0);
