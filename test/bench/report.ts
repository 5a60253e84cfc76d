import type { WorkerResult } from "./benchWorker.js";
import type { Ceiling } from "./ceiling.js";
import type { NaiveResult } from "./naiveBaseline.js";
import type { ScaleOutRun } from "./scaleOut.js";

export interface BenchFigures {
  opts: { records: number; json: boolean; timeScale: number; windowSeconds: number; bulkSize: number };
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string };
  records: number;
  d365: number;
  naive: NaiveResult;
  ceiling: Ceiling;
  fullRun: WorkerResult;
  /** The run after the load, which reads the load's echoes. */
  settleRun: WorkerResult;
  deltaRun: WorkerResult;
  changed: number;
  idleWrites: number;
  scale?: { alone: ScaleOutRun; shared: ScaleOutRun };
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

/** The human report, then (with --json) the one-line JSON object, last on stdout. */
export function printReport(f: BenchFigures, log: (line: string) => void): void {
  const vsCeiling = f.d365 / f.ceiling.forRun;
  const vsNaive = f.d365 / f.naive.recordsPerSecond;
  const requestsPerRecord = f.fullRun.requests / f.records;
  const timeVsFull = f.deltaRun.ms / f.fullRun.ms;
  const lines = [
    "",
    `machine: ${f.machine.cpus} × ${f.machine.cpuModel}, ${f.machine.memoryGb.toFixed(1)} GB, Node ${f.machine.node}`,
    `throughput (records/s, real time): d365-sync ${f.d365.toFixed(1)} | naive ${f.naive.recordsPerSecond.toFixed(2)} | ceiling ${f.ceiling.forRun.toFixed(1)} (sustained ${f.ceiling.sustained.toFixed(1)}, first-window burst ${f.ceiling.burstRecords} records)`,
    `ratios: d365-sync / ceiling ${vsCeiling.toFixed(3)} | d365-sync / naive ${vsNaive.toFixed(1)}`,
    `full load: ${requestsPerRecord.toFixed(4)} Dataverse requests per record, ${f.fullRun.throttled} × 429, ${(f.fullRun.waitedMs / 1000).toFixed(1)} s waited before retries`,
    `delta (${f.changed} changed = 1 %): ${f.deltaRun.requests} requests (${(f.deltaRun.requests / Math.max(1, f.fullRun.requests)).toFixed(3)} of the full load), time ${timeVsFull.toFixed(3)} of the full load`,
    `unchanged table: ${f.idleWrites} Dataverse writes`,
    `peak resident memory of the sync process: ${f.fullRun.maxRssMb.toFixed(0)} MB (full load), ${f.settleRun.maxRssMb.toFixed(0)} MB (the run after it, reading the load's ${f.records} echoes)`,
  ];
  if (f.scale) {
    for (const r of [f.scale.alone, f.scale.shared]) {
      lines.push(`${r.workers} worker processes ${r.shared ? "with the shared budget" : "without it"}: ${r.recordsPerSecond.toFixed(1)} rec/s = ${r.vsCeiling.toFixed(3)} of the ceiling, ${(r.throttledShare * 100).toFixed(1)} % of ${r.requests} requests throttled`);
    }
  }
  for (const l of lines) log(l);
  if (!f.opts.json) return;
  const json = {
    records: f.records,
    throughput: { d365sync: round(f.d365, 2), naive: round(f.naive.recordsPerSecond, 3), ceiling: round(f.ceiling.forRun, 2) },
    ratio: { vsCeiling: round(vsCeiling), vsNaive: round(vsNaive, 1) },
    requestsPerRecord: round(requestsPerRecord, 5),
    throttled: f.fullRun.throttled,
    waitedMs: Math.round(f.fullRun.waitedMs),
    delta: { changed: f.changed, requests: f.deltaRun.requests, timeVsFull: round(timeVsFull) },
    unchangedWrites: f.idleWrites,
    peakRssMb: Math.round(f.fullRun.maxRssMb),
    echoRun: { peakRssMb: Math.round(f.settleRun.maxRssMb), timeVsFull: round(f.settleRun.ms / f.fullRun.ms), requests: f.settleRun.requests },
    scaleOut: f.scale && Object.fromEntries([f.scale.alone, f.scale.shared].map((r) => [r.shared ? "shared" : "alone", {
      workers: r.workers, records: r.records, vsCeiling: round(r.vsCeiling), throttledShare: round(r.throttledShare, 4), failed: r.failed,
    }])),
    settings: { timeScale: f.opts.timeScale, windowSeconds: f.opts.windowSeconds, bulkSize: f.opts.bulkSize, ceilingSustained: round(f.ceiling.sustained, 2) },
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}
