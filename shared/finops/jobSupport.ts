import type { FinopsJob } from "../config/finopsJob.js";
import { keyFieldsOf } from "../config/finopsJob.js";
import type { Clock, DeadLetter, DirectionCounts, DirectionKey } from "../ports.js";
import type { RecordFailure } from "../sync/decide.js";
import type { FinopsServices } from "./finopsServices.js";

/** How a job waits for F&O's batch: back-off from `firstMs`, doubling to `maxMs`, at most `totalMs` in one run. */
export interface PollPolicy {
  firstMs: number;
  maxMs: number;
  totalMs: number;
}

/** F&O's batch runs every minute or more; a run waits up to 10 minutes, then the next run collects the result. */
export const defaultPollPolicy: PollPolicy = { firstMs: 2_000, maxMs: 30_000, totalMs: 10 * 60_000 };

/** What one run of a job needs besides its services. */
export interface JobRun {
  f: FinopsServices;
  job: FinopsJob;
  runId: string;
  poll: PollPolicy;
  /** Operator's decision on an import whose answer was lost: send the records again. */
  resend?: boolean;
  /** Operator's decision on an import whose answer was lost: it arrived; move on. */
  markSent?: boolean;
}

export interface JobOutcome {
  counts: DirectionCounts;
  notes: string[];
}

export const zeroCounts = (): DirectionCounts => ({ created: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 });

/**
 * Calls `read` until `isFinal` says so or the run's polling time is spent (then the last answer is
 * returned: the caller leaves the message open for the next run). Sleeps only through the Clock.
 */
export async function pollUntil<T>(clock: Clock, policy: PollPolicy, read: () => Promise<T>, isFinal: (v: T) => boolean): Promise<T> {
  const deadline = clock.now() + policy.totalMs;
  let wait = policy.firstMs;
  for (;;) {
    const value = await read();
    if (isFinal(value) || clock.now() + wait > deadline) return value;
    await clock.sleep(wait);
    wait = Math.min(policy.maxMs, wait * 2);
  }
}

/** The id of a job's pending entry: the engine's `<mapping>|<direction>|<recordId>`. */
export const pendingId = (job: string, direction: DirectionKey, recordId: string) => `${job}|${direction}|${recordId}`;

/** The job's pending entries in one direction (at most 10,000, as a mapping's run reads). */
export async function pendingOf(x: JobRun, direction: DirectionKey): Promise<Map<string, DeadLetter>> {
  const all = await x.f.s.state.listDeadLetters({ mapping: x.job.name, limit: 10_000 });
  return new Map(all.filter((d) => d.direction === direction).map((d) => [d.recordId, d]));
}

/** Pending entries due again (their back-off has passed). */
export function due(pending: Map<string, DeadLetter>, now: number): DeadLetter[] {
  return [...pending.values()].filter((d) => d.nextAttemptAt !== undefined && Date.parse(d.nextAttemptAt) <= now);
}

/** Records pending through the engine's ledger (attempts, back-off, telemetry, coordinators). */
export async function recordPending(x: JobRun, failures: RecordFailure[]): Promise<void> {
  if (failures.length) await x.f.s.engine.deadLetter(x.job.name, x.runId, failures);
}

/**
 * Key values F&O's error text names, as `FIELD=value` for each of the job's key fields (the form
 * F&O's entity validation messages take). ⚠ inferred: F&O's RecordId is a staging RecId that means
 * nothing outside F&O, so the text is the only link back; an error naming no key is kept for the
 * message as a whole.
 */
export function keyInError(job: FinopsJob, text: string): string | undefined {
  const parts = keyFieldsOf(job).map((field) => {
    const m = new RegExp(`(?:^|[\\s(,;'"])${field}\\s*=\\s*'?([^,;)']*)`, "i").exec(text);
    return m ? m[1].trim() : undefined;
  });
  return parts.every((p) => p) ? parts.join("|") : undefined;
}

export const nowIso = (clock: Clock) => new Date(clock.now()).toISOString();
