import type { WorkerResult } from "./benchWorker.js";
import type { Ceiling } from "./ceiling.js";
import type { Arrival } from "./peers/peerKit.js";
import type { PeerName, PeerResult } from "./peers/runPeers.js";
import type { ScaleOutRun } from "./scaleOut.js";
import type { StormResult } from "./storm.js";
import type { ToAppResult } from "./toApp.js";
import type { WebhookLatency } from "./webhookLatency.js";

export interface BenchFigures {
  opts: { records: number; json: boolean; timeScale: number; windowSeconds: number; bulkSize: number };
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string };
  records: number;
  d365: number;
  /** The load's records in the emulator's store afterwards: each exactly once? */
  d365Arrival: Arrival;
  peers: Partial<Record<PeerName, PeerResult>>;
  ceiling: Ceiling;
  fullRun: WorkerResult;
  /** The run after the load, which reads the load's echoes. */
  settleRun: WorkerResult;
  deltaRun: WorkerResult;
  changed: number;
  idleWrites: number;
  scale?: { alone?: ScaleOutRun; shared: ScaleOutRun };
  /** Several web servers (measured by the servers part of the benchmark); absent when not measured. */
  servers?: { count: number; vsCeiling: number; throttled: number };
  storm?: StormResult;
  webhook?: WebhookLatency;
  toApp?: ToAppResult;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));
const roundOr = (n: number | undefined, digits = 3) => (n === undefined ? undefined : round(n, digits));

/** The human report, then (with --json) the one-line JSON object, last on stdout. */
export function printReport(f: BenchFigures, log: (line: string) => void): void {
  const vsCeiling = f.d365 / f.ceiling.forRun;
  const rate = (p: PeerName) => f.peers[p]?.recordsPerSecond;
  const vs = (p: PeerName) => (rate(p) ? f.d365 / rate(p)! : undefined);
  const requestsPerRecord = f.fullRun.requests / f.records;
  const timeVsFull = f.deltaRun.ms / f.fullRun.ms;
  const d365Share = f.fullRun.requests ? f.fullRun.throttled / f.fullRun.requests : 0;
  const lines = [
    "",
    `machine: ${f.machine.cpus} × ${f.machine.cpuModel}, ${f.machine.memoryGb.toFixed(1)} GB, Node ${f.machine.node}`,
    `throughput (records/s, real time): d365-sync ${f.d365.toFixed(1)} | ceiling ${f.ceiling.forRun.toFixed(1)} (sustained ${f.ceiling.sustained.toFixed(1)}; the request limit alone would let ${f.ceiling.burstRecords} records through a fresh window, execution time is the bound)`,
    ...Object.values(f.peers).map((p) => `  peer ${p.name}: ${p.recordsPerSecond.toFixed(2)} records/s, ${(p.throttledShare * 100).toFixed(1)} % of ${p.requests} requests throttled, ${p.exactlyOnce ? "exactly once" : `${p.lost} lost, ${p.duplicated} duplicated`}`),
    `ratios: d365-sync / ceiling ${vsCeiling.toFixed(3)} | / naive ${vs("naive")?.toFixed(1) ?? "—"} | / best peer ${vs("bestPeer")?.toFixed(3) ?? "—"}`,
    `full load: ${requestsPerRecord.toFixed(4)} Dataverse requests per record, ${f.fullRun.throttled} × 429 (${(d365Share * 100).toFixed(1)} %), ${(f.fullRun.waitedMs / 1000).toFixed(1)} s waited before retries; ${f.d365Arrival.exactlyOnce ? "every record exactly once" : `${f.d365Arrival.lost} lost, ${f.d365Arrival.duplicated} duplicated`}`,
    `delta (${f.changed} changed = 1 %): ${f.deltaRun.requests} requests (${(f.deltaRun.requests / Math.max(1, f.fullRun.requests)).toFixed(3)} of the full load), time ${timeVsFull.toFixed(3)} of the full load`,
    `unchanged table: ${f.idleWrites} Dataverse writes`,
    `peak resident memory of the sync process: ${f.fullRun.maxRssMb.toFixed(0)} MB (full load), ${f.settleRun.maxRssMb.toFixed(0)} MB (the run after it, reading the load's ${f.records} echoes)`,
  ];
  if (f.scale) {
    for (const r of [f.scale.alone, f.scale.shared].filter((r) => r !== undefined)) {
      lines.push(`${r.workers} worker processes ${r.shared ? "with the shared budget" : "without it"}: ${r.recordsPerSecond.toFixed(1)} rec/s = ${r.vsCeiling.toFixed(3)} of the ceiling, ${(r.throttledShare * 100).toFixed(1)} % of ${r.requests} requests throttled`);
    }
  }
  if (f.storm) lines.push(`storm: 429 share below 5 % ${f.storm.settleS === undefined ? "not reached" : `after ${f.storm.settleS.toFixed(1)} s`} of the storm, throughput back ${f.storm.recoverS === undefined ? "not measured (the load ended first)" : `${f.storm.recoverS.toFixed(1)} s`} after it (simulated seconds)`);
  if (f.webhook) for (const b of f.webhook.bursts) lines.push(`webhook latency at ${b.perSecond}/s: p50 ${b.p50Ms.toFixed(0)} ms, p95 ${b.p95Ms.toFixed(0)} ms, p99 ${b.p99Ms.toFixed(0)} ms (${b.delivered} of ${b.sent} written to the app)`);
  if (f.toApp) lines.push(`Dataverse → app: ${f.toApp.records} records at ${f.toApp.recordsPerSecond.toFixed(1)}/s, app writes ${f.toApp.appWritesPerSecond.toFixed(1)}/s against its limit of ${f.toApp.appLimit ?? "none"}/s (${f.toApp.rateLimited} × 429), peak RSS ${f.toApp.peakRssMb.toFixed(0)} MB`);
  for (const l of lines) log(l);
  if (!f.opts.json) return;
  const webhookAt100 = f.webhook?.bursts.at(-1);
  const json = {
    records: f.records,
    throughput: {
      d365sync: round(f.d365, 2), naive: roundOr(rate("naive")), adfDefault: roundOr(rate("adfDefault"), 2),
      batch100x16: roundOr(rate("batch100x16"), 2), bestPeer: roundOr(rate("bestPeer"), 2), ceiling: round(f.ceiling.forRun, 2),
    },
    ratio: { vsCeiling: round(vsCeiling), vsNaive: roundOr(vs("naive"), 1), vsBestPeer: roundOr(vs("bestPeer")) },
    requestsPerRecord: round(requestsPerRecord, 5),
    // Shares of requests answered 429; `count` is the full load's 429s (the number this field held before).
    throttled: { d365sync: round(d365Share, 4), bestPeer: roundOr(f.peers.bestPeer?.throttledShare, 4), count: f.fullRun.throttled },
    waitedMs: Math.round(f.fullRun.waitedMs),
    exactlyOnce: {
      d365sync: f.d365Arrival.exactlyOnce,
      ...Object.fromEntries(Object.values(f.peers).map((p) => [p.name, p.exactlyOnce])),
    },
    peers: Object.fromEntries(Object.values(f.peers).map((p) => [p.name, {
      records: p.sent, seconds: round(p.seconds, 1), throttledShare: round(p.throttledShare, 4), lost: p.lost, duplicated: p.duplicated,
    }])),
    delta: { changed: f.changed, requests: f.deltaRun.requests, timeVsFull: round(timeVsFull) },
    unchangedWrites: f.idleWrites,
    peakRssMb: Math.round(f.fullRun.maxRssMb),
    echoRun: { peakRssMb: Math.round(f.settleRun.maxRssMb), timeVsFull: round(f.settleRun.ms / f.fullRun.ms), requests: f.settleRun.requests },
    scaleOut: f.scale && Object.fromEntries([f.scale.alone, f.scale.shared].filter((r) => r !== undefined).map((r) => [r.shared ? "shared" : "alone", {
      workers: r.workers, records: r.records, vsCeiling: round(r.vsCeiling), throttledShare: round(r.throttledShare, 4), failed: r.failed,
    }])),
    servers: f.servers && { count: f.servers.count, vsCeiling: round(f.servers.vsCeiling), throttled: round(f.servers.throttled, 4) },
    toApp: f.toApp && {
      records: f.toApp.records, recordsPerSecond: round(f.toApp.recordsPerSecond, 2), peakRssMb: Math.round(f.toApp.peakRssMb),
      appWritesPerSecond: round(f.toApp.appWritesPerSecond, 2), appLimit: f.toApp.appLimit, rateLimited: f.toApp.rateLimited,
    },
    webhook: webhookAt100 && {
      p50Ms: Math.round(webhookAt100.p50Ms), p95Ms: Math.round(webhookAt100.p95Ms), p99Ms: Math.round(webhookAt100.p99Ms), perSecond: webhookAt100.perSecond,
      bursts: Object.fromEntries(f.webhook!.bursts.map((b) => [String(b.perSecond), { p50Ms: Math.round(b.p50Ms), p95Ms: Math.round(b.p95Ms), p99Ms: Math.round(b.p99Ms), sent: b.sent, delivered: b.delivered }])),
    },
    storm: f.storm && { settleS: roundOr(f.storm.settleS, 2), requestsAfterSettle: f.storm.requestsAfterSettle, recoverS: roundOr(f.storm.recoverS, 2), stormS: round(f.storm.stormS, 2), ourThrottledShare: round(f.storm.throttledShare, 4) },
    runs: 1,
    settings: { timeScale: f.opts.timeScale, windowSeconds: f.opts.windowSeconds, bulkSize: f.opts.bulkSize, ceilingSustained: round(f.ceiling.sustained, 2) },
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}
