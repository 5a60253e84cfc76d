import { randomUUID } from "node:crypto";
import type { RunRecord } from "../ports.js";
import { finishRun } from "../sync/runBook.js";
import { finopsJob, type FinopsServices } from "./finopsServices.js";
import { runFromFinops } from "./fromFinops.js";
import { defaultPollPolicy, nowIso, zeroCounts, type JobOutcome, type PollPolicy } from "./jobSupport.js";
import { runToFinops } from "./toFinops.js";

export interface FinopsRunOptions {
  trigger: RunRecord["trigger"];
  /** A run record already created (the manual trigger answers with its id before the run starts). */
  runId?: string;
  poll?: PollPolicy;
  /** An import whose answer was lost is not in F&O: send its records again. */
  resend?: boolean;
  /** An import whose answer was lost is in F&O: move on without sending it again. */
  markSent?: boolean;
}

/** A job's run holds its lock this long and renews it while it runs; a crashed run's lock lapses after it. */
export const LOCK_MS = 2 * 60_000;

/** A run record for a job, `queued`: what the manual trigger answers with before the worker runs it. */
export async function createFinopsRun(f: FinopsServices, name: string, trigger: RunRecord["trigger"]): Promise<RunRecord> {
  finopsJob(f.s, name);
  return f.s.state.createRun({
    runId: randomUUID(), mapping: name, mode: "delta", trigger, dryRun: false, status: "queued", startedAt: nowIso(f.s.clock),
    toDataverse: zeroCounts(), toApp: zeroCounts(), conflicts: 0, planned: 0, processed: 0, notes: [],
  });
}

/**
 * One run of an F&O job, recorded like a mapping's run (SyncRuns, SyncHealth, SyncRunCompleted,
 * the notifier and the alerts): records sent to F&O count under `toDataverse` (towards Dynamics),
 * records written to the app under `toApp`. A run that throws is `failed` with the reason; the
 * job's cursor and unacknowledged messages stay where they were, so nothing is lost.
 */
export async function runFinopsJob(f: FinopsServices, name: string, options: FinopsRunOptions): Promise<RunRecord> {
  const job = finopsJob(f.s, name);
  const { state, engine, clock } = f.s;
  const existing = options.runId ? await state.getRun(options.runId) : null;
  const run = existing ?? await createFinopsRun(f, name, options.trigger);
  const runId = run.runId;
  if (!(await f.ledger.lock(name, runId, clock.now(), LOCK_MS))) {
    return state.updateRun(runId, (r) => ({ ...r, status: "succeeded", finishedAt: nowIso(clock), notes: [...r.notes, "skipped: another run of this job is in progress"] }));
  }
  // Renewed on a real timer while the run works (a long download or poll must not lose it).
  const renew = setInterval(() => void f.ledger.lock(name, runId, clock.now(), LOCK_MS).catch(() => undefined), LOCK_MS / 4);
  renew.unref?.();
  try {
    await state.updateRun(runId, (r) => ({ ...r, status: "planning" }));
    const x = { f, job, runId, poll: options.poll ?? defaultPollPolicy, resend: options.resend, markSent: options.markSent };
    const out: JobOutcome = job.direction === "to-finops" ? await runToFinops(x) : await runFromFinops(x);
    const direction = job.direction === "to-finops" ? "toDataverse" : "toApp";
    const finished = await state.updateRun(runId, (r) => ({
      ...r, status: out.counts.failed ? "completed_with_failures" : "succeeded", finishedAt: nowIso(clock), [direction]: out.counts,
      planned: out.counts.created + out.counts.updated + out.counts.failed, processed: out.counts.created + out.counts.updated + out.counts.failed, notes: [...r.notes, ...out.notes],
    }));
    await finishRun(engine.deps, finished);
    await engine.deps.monitor?.runFinished(finished);
  } catch (e) {
    await engine.failRun(runId, e);
  } finally {
    clearInterval(renew);
    await f.ledger.unlock(name, runId).catch(() => undefined);
  }
  return (await state.getRun(runId)) ?? run;
}
