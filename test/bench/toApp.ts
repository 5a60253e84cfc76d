/**
 * Dataverse → app: a first load of N contacts (made by a person in Dynamics, none in the app yet)
 * into the sample app, one complete cycle in a worker process with the shared budget, the app
 * answering writes over `appLimit` per second with 429 and Retry-After. Reports the load's rate,
 * the worker's peak RSS, and the app's accepted writes per second against its limit.
 */
import { readFileSync } from "node:fs";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import type { EmulatorStack } from "../../shared/runtime/emulatorStack.js";
import type { BudgetJob, ServiceClockJob, WorkerResult } from "./benchWorker.js";
import { runWorker } from "./runWorker.js";

export interface ToAppOptions {
  stack: () => Promise<EmulatorStack>;
  config: SyncConfigInput;
  tablePrefix: string;
  bulkSize: number;
  budget?: BudgetJob;
  /** The emulated service's time for the worker's Dataverse client. */
  serviceClock?: ServiceClockJob;
  records: number;
  /** App writes per second before it answers 429; undefined: no limit. */
  appLimit?: number;
  /** After the load, a full run (`--full`: both sides read completely, every link held) in a fresh worker. */
  fullAgain?: boolean;
  /** Every this many ms while a worker runs: the records in the app so far and the worker's resident and peak memory. */
  progressMs?: number;
  log: (line: string) => void;
}

export interface ToAppResult {
  records: number;
  recordsPerSecond: number;
  peakRssMb: number;
  /** Accepted app writes per second, from the first to the last accepted write. */
  appWritesPerSecond: number;
  appLimit?: number;
  rateLimited: number;
  failed: number;
  seconds: number;
  /**
   * Dataverse requests of the load, by kind: the key write-backs (UpdateMultiple, single PATCHes,
   * `$batch`) and everything else (the reads).
   */
  dataverseRequests: { keyWriteBacks: number; other: number };
  /** The full run after the load (ToAppOptions.fullAgain): its own worker's peak RSS, and what it wrote (0 when in sync). */
  fullAgain?: { seconds: number; peakRssMb: number; written: number; failed: number };
}

const statuses = [100000000, 100000001, 100000002] as const;

/** Contact i as a person creates it in Dynamics: mapped fields filled, no app id yet. */
export function dataverseContact(i: number): Record<string, unknown> {
  return {
    firstname: `Dv${i}`, lastname: `Row${i % 997}`, emailaddress1: `dv${i}@example.org`,
    hlf_certificationstatus: statuses[i % 3], hlf_score: i % 100, hlf_ispublic: i % 3 === 0, hlf_hourlyrate: 300 + (i % 50) * 2.5,
  };
}

export async function measureToApp(o: ToAppOptions): Promise<ToAppResult> {
  const stack = await o.stack();
  try {
    for (let i = 0; i < o.records; i++) stack.dataverse.insert("contact", dataverseContact(i), stack.person.userId);
    if (o.appLimit !== undefined) stack.app.setRateLimit({ writesPerSecond: o.appLimit });
    const run = await watched(o, "load", stack, (onStart) => runWorker({ kind: "cycle", full: false, env: stack.env, config: o.config, tablePrefix: o.tablePrefix, bulkSize: o.bulkSize, budget: o.budget, serviceClock: o.serviceClock }, onStart));
    const writes = stack.app.requests.filter((r) => r.method === "POST" && r.path.startsWith("/sync/mentor") && r.status >= 200 && r.status < 300).map((r) => r.at);
    const spanS = writes.length > 1 ? (writes[writes.length - 1] - writes[0]) / 1000 : 0;
    const records = stack.app.list("mentor").length;
    const dvRequests = stack.dataverse.log.entries().filter((e) => !e.inBatch && e.path.includes("/api/data/"));
    const keyWriteBacks = dvRequests.filter((e) => e.path.endsWith("/contacts/Microsoft.Dynamics.CRM.UpdateMultiple") || e.path.endsWith("/$batch") || (e.method === "PATCH" && /\/contacts\([0-9a-f-]{36}\)$/.test(e.path))).length;
    const result: ToAppResult = {
      records, seconds: run.ms / 1000, recordsPerSecond: records / (run.ms / 1000), peakRssMb: run.maxRssMb,
      appWritesPerSecond: spanS > 0 ? writes.length / spanS : writes.length, appLimit: o.appLimit, rateLimited: stack.app.rateLimited,
      failed: run.totals?.failed ?? 0, dataverseRequests: { keyWriteBacks, other: dvRequests.length - keyWriteBacks },
    };
    o.log(`Dataverse → app: ${records} of ${o.records} in ${result.seconds.toFixed(1)} s (${result.recordsPerSecond.toFixed(1)}/s), app writes ${result.appWritesPerSecond.toFixed(1)}/s against a limit of ${o.appLimit ?? "none"}/s, ${result.rateLimited} × 429 from the app, ${result.failed} failed, peak RSS ${result.peakRssMb.toFixed(0)} MB, Dataverse requests: ${keyWriteBacks} for the key write-backs, ${result.dataverseRequests.other} others`);
    if (o.fullAgain) {
      const again = await watched(o, "full run", stack, (onStart) => runWorker({ kind: "cycle", full: true, env: stack.env, config: o.config, tablePrefix: o.tablePrefix, bulkSize: o.bulkSize, budget: o.budget, serviceClock: o.serviceClock }, onStart));
      result.fullAgain = { seconds: again.ms / 1000, peakRssMb: again.maxRssMb, written: again.totals?.written ?? -1, failed: again.totals?.failed ?? -1 };
      o.log(`then a full run over the ${records} links: ${result.fullAgain.seconds.toFixed(1)} s, peak RSS ${result.fullAgain.peakRssMb.toFixed(0)} MB, ${result.fullAgain.written} written, ${result.fullAgain.failed} failed`);
    }
    return result;
  } finally {
    await stack.stop();
  }
}

/**
 * ToAppOptions.progressMs: while a worker runs, logs the app's record count (the in-process sample
 * app's) and the worker's VmRSS and VmHWM (read from Linux /proc; left out where there is none).
 */
async function watched(o: ToAppOptions, phase: string, stack: EmulatorStack, run: (onStart: (pid: number) => void) => Promise<WorkerResult>): Promise<WorkerResult> {
  let timer: NodeJS.Timeout | undefined;
  const onStart = (pid: number) => {
    if (!o.progressMs) return;
    const started = Date.now();
    timer = setInterval(() => {
      let memory = "";
      try {
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const mib = (key: string) => (Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) / 1024).toFixed(1);
        memory = `, worker resident ${mib("VmRSS")} MiB, peak ${mib("VmHWM")} MiB`;
      } catch {
        // No /proc here (or the worker just exited): the count alone.
      }
      o.log(`${phase}: ${((Date.now() - started) / 1000).toFixed(0)} s, ${stack.app.list("mentor").length} records in the app${memory}`);
    }, o.progressMs);
  };
  try {
    return await run(onStart);
  } finally {
    clearInterval(timer);
  }
}
