import { ErrorCodes, SyncError } from "../errors.js";
import { isConcurrency } from "./tableErrors.js";

export interface CasRetryOptions {
  maxAttempts?: number;
  /** Injected so tests decide time; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const DEFAULT_ATTEMPTS = 30;
const BASE_MS = 5;
const CAP_MS = 250;

/** Full-jitter exponential back-off: contenders spread out instead of colliding again in step. */
export function casBackoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(CAP_MS, BASE_MS * 2 ** attempt));
}

/**
 * Runs a read-modify-write `attempt` until it stops losing the ETag race. Bounded: after the last
 * attempt the CONCURRENCY error surfaces (the caller re-plans); other errors pass through at once.
 */
export async function retryOnConcurrency<T>(what: string, attempt: () => Promise<T>, options: CasRetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isConcurrency(e)) throw e;
      if (n >= maxAttempts) {
        throw new SyncError("conflict", ErrorCodes.Concurrency, `${what}: still contended after ${n} attempts`, { cause: e, status: 412 });
      }
      await sleep(casBackoffMs(n, options.random));
    }
  }
}
