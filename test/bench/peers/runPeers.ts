/**
 * Runs each peer on its own fresh emulator (its window empty, as ours is at the start of the load)
 * and checks the store afterwards: every record the peer counted as written is there exactly once.
 */
import type { EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import { ADF_DEFAULT_SINK, BATCH_100_X16, batchSink } from "./batchSink.js";
import { bulkPeer } from "./bulkPeer.js";
import { naiveLoop } from "./naiveLoop.js";
import { checkArrival, type Arrival, type PeerOptions, type PeerRun } from "./peerKit.js";

export const PeerNames = ["naive", "adfDefault", "batch100x16", "bestPeer"] as const;
export type PeerName = (typeof PeerNames)[number];

export interface PeerResult extends Arrival {
  name: PeerName;
  sent: number;
  seconds: number;
  recordsPerSecond: number;
  requests: number;
  throttled: number;
  throttledShare: number;
  waitedMs: number;
}

export interface PeerPlan {
  /** A fresh emulator stack with the benchmark's service protection. */
  stack: () => Promise<EmulatorStack>;
  timeScale: number;
  /** Records the fast peers write (the d365-sync load's count, for a like-for-like run). */
  records: number;
  /** Real seconds the sequential naive loop runs (its rate is steady). */
  naiveSeconds: number;
  /**
   * The naive loop's own emulator: the same rates over a longer window, on a faster clock. The loop
   * is bound by the request limit, and a 429's Retry-After is whole seconds (HTTP delay-seconds): over
   * the benchmark's 1-s window each 429 would cost a whole window (the rounding artifact), where the
   * real service's second is 1/300 of its window. Its rate is converted back to `timeScale`.
   */
  naive?: { stack: () => Promise<EmulatorStack>; timeScale: number };
  /** Real seconds the `$batch` peers run at most (they are request-bound, far below the ceiling). */
  batchSeconds: number;
  only?: readonly PeerName[];
  log: (line: string) => void;
}

const scripts: Record<PeerName, (o: PeerOptions) => Promise<PeerRun>> = {
  naive: naiveLoop,
  adfDefault: (o) => batchSink(o, ADF_DEFAULT_SINK),
  batch100x16: (o) => batchSink(o, BATCH_100_X16),
  bestPeer: (o) => bulkPeer(o),
};

export async function runPeers(plan: PeerPlan): Promise<Partial<Record<PeerName, PeerResult>>> {
  const results: Partial<Record<PeerName, PeerResult>> = {};
  for (const name of plan.only ?? PeerNames) {
    const own = name === "naive" ? plan.naive : undefined;
    const stack = await (own?.stack ?? plan.stack)();
    const timeScale = own?.timeScale ?? plan.timeScale;
    try {
      const maxSeconds = name === "naive" ? plan.naiveSeconds : name === "bestPeer" ? 3600 : plan.batchSeconds;
      const prefix = `peer-${name}`;
      const run = await scripts[name]({ env: stack.env, timeScale, records: plan.records, maxSeconds, prefix });
      const arrival = checkArrival(stack.dataverse.rows("contact"), prefix, run.sent);
      // Records per real second at the benchmark's time scale: the same service time, read at its pace.
      const recordsPerSecond = (run.sent / run.seconds) * (plan.timeScale / timeScale);
      const result: PeerResult = {
        name, ...run, ...arrival, recordsPerSecond, throttledShare: run.requests ? run.throttled / run.requests : 0,
      };
      const scaled = timeScale === plan.timeScale ? "" : ` (at time scale ${timeScale}; ${plan.timeScale}'s pace)`;
      plan.log(`peer ${name}: ${result.sent} records in ${result.seconds.toFixed(1)} s${scaled} = ${result.recordsPerSecond.toFixed(2)} records/s, ${result.throttled} × 429 of ${result.requests} requests (${(result.throttledShare * 100).toFixed(1)} %), ${result.exactlyOnce ? "every record exactly once" : `${result.lost} lost, ${result.duplicated} duplicated`}`);
      results[name] = result;
    } finally {
      await stack.stop();
    }
  }
  return results;
}
