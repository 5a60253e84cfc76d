/**
 * The webhook latency measurement alone (test/bench/webhookLatency.ts), without the rest of
 * `npm run bench`: `node scripts/node22.mjs --import tsx test/bench/webhookOnly.ts [--rates 10,100]
 * [--seconds 5] [--runs 3] [--json]`. Each run gets its own Azurite and stack; with several runs
 * each percentile is the median of the runs, with the smallest and largest.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { startAzurite } from "../support/azurite.js";
import { measureWebhookLatency, type BurstLatency } from "./webhookLatency.js";

const program = new Command()
  .option("--rates <list>", "deliveries per second, comma-separated", (v) => v.split(",").map((r) => Number.parseInt(r, 10)), [10, 100])
  .option("--seconds <s>", "seconds of each rate", (v) => Number.parseInt(v, 10), 5)
  .option("--runs <n>", "runs (each percentile: the median of the runs)", (v) => Number.parseInt(v, 10), 1)
  .option("--json", "the figures as JSON on the last line of stdout")
  .parse();
const opts = program.opts<{ rates: number[]; seconds: number; runs: number; json?: boolean }>();
const log = (line: string) => void process.stderr.write(`${line}\n`);

const config = JSON.parse(readFileSync(new URL("../../sync.config.json", import.meta.url), "utf8")) as SyncConfigInput;
const runs: BurstLatency[][] = [];
for (let i = 0; i < opts.runs; i++) {
  const azurite = await startAzurite({});
  try {
    runs.push((await measureWebhookLatency({ storage: azurite.connectionString, config, rates: opts.rates, seconds: opts.seconds, log })).bursts);
  } finally {
    await azurite.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const summary = opts.rates.map((perSecond, r) => {
  type Figure = "sent" | "delivered" | "p50Ms" | "p95Ms" | "p99Ms" | "maxMs" | "cpuMsPerEdit" | "loadAverage";
  const of = (k: Figure) => runs.map((run) => run[r][k] ?? Number.NaN);
  const figure = (k: Figure) => ({ median: median(of(k)), min: Math.min(...of(k)), max: Math.max(...of(k)) });
  return { perSecond, runs: runs.length, delivered: of("delivered"), sent: of("sent"), p50Ms: figure("p50Ms"), p95Ms: figure("p95Ms"), p99Ms: figure("p99Ms"), maxMs: figure("maxMs"), cpuMsPerEdit: figure("cpuMsPerEdit"), loadAverage: of("loadAverage") };
});
for (const s of summary) {
  const f = (x: { median: number; min: number; max: number }) => `${x.median} (${x.min}–${x.max})`;
  log(`${s.perSecond}/s, median of ${s.runs}: p50 ${f(s.p50Ms)} ms, p95 ${f(s.p95Ms)} ms, p99 ${f(s.p99Ms)} ms; written ${s.delivered.join(", ")} of ${s.sent.join(", ")}; CPU per edit ${f(s.cpuMsPerEdit)} ms; load average ${s.loadAverage.map((l) => l.toFixed(1)).join(", ")}`);
}
if (opts.json) process.stdout.write(`${JSON.stringify({ webhook: summary })}\n`);
process.exit(0);
