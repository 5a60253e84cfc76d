import { ceilingFor } from "./ceiling.js";
import type { ThrottleOptionsInput } from "../emulators/dataverse/throttleModel.js";

/** `servers` in the --json line: the web servers emulated, the load against all of their ceiling, and its 429 share. */
export interface ServersFigures {
  count: number;
  /** d365-sync's full load against the ceiling of `count` servers (ceiling.ts: an upper bound for every client). */
  vsCeiling: number;
  /** 429s / Dataverse requests of the full load. */
  throttled: number;
}

export function serversFigures(limits: ThrottleOptionsInput, bulkSize: number, records: number, load: { ms: number; requests: number; throttled: number }): ServersFigures {
  const count = limits.servers ?? 1;
  const recordsPerSecond = records / (load.ms / 1000);
  return {
    count,
    vsCeiling: recordsPerSecond / ceilingFor(limits, bulkSize, records).forRun,
    throttled: load.requests ? load.throttled / load.requests : 0,
  };
}
