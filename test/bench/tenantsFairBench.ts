/**
 * `npm run bench -- --tenants-fair [--records N] [--runs R]`: one tenant's nightly (delta) run alone,
 * then the same run while another tenant's full load of N mentors goes through the same storage
 * queues (Azurite) and the local runner, which calls the registered queue functions as the Functions
 * host does (so every message passes the fair share, shared/tenants/fairShare.ts). Each tenant has
 * its own Dataverse emulator with service protection on. R trials (default 3), medians reported.
 * The bound: during ≤ alone + one of the big tenant's write messages (its processing time) for each
 * mapping of the small run (each mapping's writes wait for a free worker once; the demo has two,
 * groups then mentors).
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Logger, RunRecord } from "../../shared/ports.js";
import { startLocalRunner } from "../../shared/runtime/localRunner.js";
import type { Services } from "../../shared/runtime/services.js";
import { FairShare } from "../../shared/tenants/fairShare.js";
import { tenantsOf } from "../../shared/tenants/tenants.js";
import type { ThrottleOptionsInput } from "../emulators/dataverse/throttle.js";
import { registerTenants, startTenantStack, type TenantStack } from "../integration/tenants/tenantStack.js";
import { GROUPS, groupId, mentorRecord } from "./benchData.js";

/** Mentors of the small tenant's nightly run (a few records: what a quiet customer changes in a day). */
export const SMALL_RECORDS = 50;

export interface FairTrial {
  /** The small tenant's run (all its mappings, first start to last finish), nobody else working. */
  aloneSeconds: number;
  /** The same run, started while the big tenant's write messages were queued. */
  duringSeconds: number;
  /** The big tenant's load: its mentors run, start to finish. */
  bigSeconds: number;
  /** The big mentors run's records done when the small run had finished (of `records`). */
  bigDoneWhenSmallFinished: number;
  /** One big write message's processing time: bigSeconds × the share (messages at once) / its messages. */
  bigMessageSeconds: number;
  /** Messages deferred (a tenant over its share) during the trial. */
  deferrals: number;
  /** Each mapping's run of the small tenant during the load: seconds from the previous one's finish (the first: from its start). */
  duringStages: Record<string, number>;
}

export interface TenantsFairFigures {
  records: number;
  smallRecords: number;
  chunkSize: number;
  share: number;
  trials: FairTrial[];
  median: { aloneSeconds: number; duringSeconds: number; addedSeconds: number; bigMessageSeconds: number; bigSeconds: number };
  /** Mappings the small run has: the bound's k. */
  stages: number;
  /** In every trial: duringSeconds ≤ aloneSeconds + stages × bigMessageSeconds. */
  withinBound: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ended = (r: RunRecord) => ["succeeded", "completed_with_failures", "failed"].includes(r.status);

/** Waits for the tenant's runs (polling their rows) until `done` holds. */
async function until(s: Services, ids: string[], done: (runs: RunRecord[]) => boolean): Promise<RunRecord[]> {
  for (;;) {
    const runs = await Promise.all(ids.map(async (id) => (await s.state.getRun(id))!));
    if (done(runs)) return runs;
    await delay(50);
  }
}

/** Start of the first run to the finish of the last, by the runs' own rows. */
const spanSeconds = (runs: RunRecord[]) =>
  (Math.max(...runs.map((r) => Date.parse(r.finishedAt ?? r.startedAt))) - Math.min(...runs.map((r) => Date.parse(r.startedAt)))) / 1000;

/** Runs in the order they finished, each with the seconds since the previous one finished (the first: since it started). */
function stagesOf(runs: RunRecord[]): Record<string, number> {
  const byEnd = [...runs].sort((a, b) => Date.parse(a.finishedAt!) - Date.parse(b.finishedAt!));
  let from = Math.min(...runs.map((r) => Date.parse(r.startedAt)));
  const out: Record<string, number> = {};
  for (const r of byEnd) {
    out[r.mapping] = (Date.parse(r.finishedAt!) - from) / 1000;
    from = Date.parse(r.finishedAt!);
  }
  return out;
}

async function syncOf(s: Services, mode: "full" | "delta"): Promise<string[]> {
  return (await s.engine.startRuns({ mode, dryRun: false, trigger: mode === "delta" ? "timer" : "manual" })).map((r) => r.runId);
}

function checkArrived(stack: TenantStack, tenant: string, expected: number): void {
  const ids = stack.tenants[tenant].dataverse.rows("contact").map((r) => String(r.hlf_mentorid));
  if (ids.length !== expected || new Set(ids).size !== expected) throw new Error(`tenant ${tenant}: ${ids.length} contacts (${new Set(ids).size} distinct), expected ${expected} once each`);
}

export async function runTenantsFairBench(records: number, trials: number, storage: string, limits: ThrottleOptionsInput, log: (line: string) => void): Promise<TenantsFairFigures> {
  if (!Number.isInteger(records) || records < 1 || records * trials > 100_000) throw new Error("--tenants-fair: --records × --runs at most 100,000 records in all");
  if (!Number.isInteger(trials) || trials < 1 || trials > 5) throw new Error("--tenants-fair: --runs 1 to 5");
  const ids = Array.from({ length: trials }, (_, i) => [`big${i + 1}`, `alone${i + 1}`, `during${i + 1}`]);
  const seed = (tenant: string) => ({
    group: Array.from({ length: GROUPS }, (_, g) => ({ id: groupId(g), data: { name: `Group ${g}`, region: tenant } })),
    mentor: Array.from({ length: tenant.startsWith("big") ? records : SMALL_RECORDS }, (_, i) => mentorRecord(i)),
  });
  let deferrals = 0;
  const logger: Logger = { debug: (m) => void (/is at its fair share/.test(m) && deferrals++), info: () => undefined, warn: () => undefined, error: (m) => log(`  error: ${m}`) };
  const stack = await startTenantStack({ tenants: ids.flat(), storage, seed, throttle: limits, lightLogs: true, logger, queues: "storage" });
  const runner = await startLocalRunner(stack.base, { host: "127.0.0.1", port: 0, schedule: "" });
  try {
    await registerTenants(stack);
    const chunkSize = stack.base.config.options.chunkSize;
    const share = new FairShare().cap;
    log(`fair-share benchmark: a ${SMALL_RECORDS}-mentor nightly run alone, then during another tenant's full load of ${records} mentors (write messages of ${chunkSize}; a tenant runs ${share} messages at once), ${trials} trial(s)`);
    const results: FairTrial[] = [];
    for (const [bigId, aloneId, duringId] of ids) {
      const [big, alone, during] = await Promise.all([bigId, aloneId, duringId].map((id) => tenantsOf(stack.base).services(id)));
      const deferredBefore = deferrals;
      const aloneRuns = await until(alone, await syncOf(alone, "delta"), (runs) => runs.every(ended));
      const bigRunIds = await syncOf(big, "full");
      // Big's mentors are planned and writing: its write messages fill the queue.
      await until(big, bigRunIds, (runs) => runs.every((r) => r.status === "writing" || ended(r)));
      const duringRuns = await until(during, await syncOf(during, "delta"), (runs) => runs.every(ended));
      const bigAtThatMoment = (await big.state.getRun(bigRunIds[bigRunIds.length - 1]))!;
      const bigRuns = await until(big, bigRunIds, (runs) => runs.every(ended));
      for (const r of [...aloneRuns, ...duringRuns, ...bigRuns]) if (r.status !== "succeeded") throw new Error(`run ${r.runId} (${r.mapping}) ended ${r.status}: ${r.error ?? ""}`);
      checkArrived(stack, bigId, records);
      checkArrived(stack, aloneId, SMALL_RECORDS);
      checkArrived(stack, duringId, SMALL_RECORDS);
      const bigSeconds = spanSeconds(bigRuns.slice(-1));
      const trial: FairTrial = {
        aloneSeconds: spanSeconds(aloneRuns), duringSeconds: spanSeconds(duringRuns), bigSeconds,
        bigDoneWhenSmallFinished: bigAtThatMoment.processed,
        bigMessageSeconds: (bigSeconds * share) / Math.ceil(records / chunkSize),
        deferrals: deferrals - deferredBefore,
        duringStages: stagesOf(duringRuns),
      };
      results.push(trial);
      log(`  trial ${results.length}: alone ${trial.aloneSeconds.toFixed(2)} s, during ${trial.duringSeconds.toFixed(2)} s (big had written ${trial.bigDoneWhenSmallFinished} of ${records}); big's load ${bigSeconds.toFixed(1)} s = ${(records / bigSeconds).toFixed(1)} records/s, one message ≈ ${trial.bigMessageSeconds.toFixed(2)} s; ${trial.deferrals} deferrals; during by mapping: ${Object.entries(trial.duringStages).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(", ")}`);
    }
    const m = {
      aloneSeconds: median(results.map((r) => r.aloneSeconds)),
      duringSeconds: median(results.map((r) => r.duringSeconds)),
      addedSeconds: median(results.map((r) => r.duringSeconds - r.aloneSeconds)),
      bigMessageSeconds: median(results.map((r) => r.bigMessageSeconds)),
      bigSeconds: median(results.map((r) => r.bigSeconds)),
    };
    const stages = stack.base.config.mappings.length;
    const withinBound = results.every((r) => r.duringSeconds <= r.aloneSeconds + stages * r.bigMessageSeconds);
    log(`  median: alone ${m.aloneSeconds.toFixed(2)} s, during ${m.duringSeconds.toFixed(2)} s (+${m.addedSeconds.toFixed(2)} s); bound alone + ${stages} × one big message (${m.bigMessageSeconds.toFixed(2)} s): ${withinBound ? "held in every trial" : "NOT held"}`);
    return { records, smallRecords: SMALL_RECORDS, chunkSize, share, trials: results, median: m, stages, withinBound };
  } finally {
    await runner.stop();
    await stack.stop();
  }
}
