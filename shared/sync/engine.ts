import { randomUUID } from "node:crypto";
import { mappingOrder } from "../config/mappingOrder.js";
import type { SyncConfig } from "../config/mapping.js";
import { ErrorCodes, SyncError, errorMessage } from "../errors.js";
import { TelemetryEvents } from "../names.js";
import type { Notifier } from "../ops/notifier.js";
import type { AppClient, Clock, DataverseClient, DirectionKey, Logger, RunRecord, SyncStateStore, Telemetry, WorkQueue } from "../ports.js";
import { writeToApp, type AppWriterContext } from "./appWriter.js";
import { CompiledMapping } from "./compiledMapping.js";
import type { DecideContext, RecordFailure } from "./decide.js";
import { writeToDataverse } from "./dataverseWriter.js";
import { createLookupResolver, memoizeLookups, type LookupResolver } from "./lookups.js";
import { planRun, type PlanSink, type RunPlan } from "./planner.js";
import { refreshRecord } from "./refresh.js";
import type { Registry } from "./registry.js";
import { finishRun, newRun, plannedCounts, recordPlan, recordWrites } from "./runBook.js";
import { mergeOutcome, queueBackoff, type WriteOutcome } from "./writeOutcome.js";
import { packWriteMessage, writeOpsOf, type RecordEventMessage, type RunMessage, type WriteMessage, type WriteOp } from "./writeOps.js";

export interface EngineQueues {
  runs: WorkQueue<RunMessage>;
  dataverseWrites: WorkQueue<WriteMessage>;
  appWrites: WorkQueue<WriteMessage>;
}

export interface EngineDeps {
  config: SyncConfig;
  dataverse: DataverseClient;
  app: AppClient;
  state: SyncStateStore;
  queues: EngineQueues;
  clock: Clock;
  logger: Logger;
  telemetry: Telemetry;
  registry: Registry;
  /** The integration's own Dataverse user (WhoAmI), for echo suppression. */
  selfUserId(): Promise<string>;
  /** Alerts on failed runs (NOTIFY_WEBHOOK_URL). */
  notifier?: Notifier;
  /**
   * Called after each page of writes is enqueued while a run is planned. In-process runs
   * (`npm run sync`) apply queued writes here, so a large run never holds all its writes in memory.
   */
  relieve?: () => Promise<void>;
}

export interface StartRequest {
  mapping?: string;
  mode: "delta" | "full";
  dryRun: boolean;
  trigger: RunMessage["trigger"];
}

/** How long a run waits for its parent mappings' runs before planning anyway. */
const MAX_PARENT_WAITS = 300;
const PARENT_WAIT_MS = 2_000;
/** A run older than this no longer holds back the schedule (it crashed or is stuck). */
const ACTIVE_RUN_MS = 30 * 60_000;

/**
 * The sync engine behind every trigger: the timer and the manual route start runs, the run worker
 * plans them, the writers apply them. Plain logic over ports, no Functions host types.
 */
export class SyncEngine {
  private readonly compiled = new Map<string, CompiledMapping>();
  readonly lookups: LookupResolver;
  private readonly backoff = queueBackoff();

  constructor(readonly deps: EngineDeps) {
    for (const m of deps.config.mappings) this.compiled.set(m.name, new CompiledMapping(m, deps.registry));
    this.lookups = createLookupResolver(deps.config, deps.state, deps.dataverse);
  }

  mapping(name: string): CompiledMapping {
    const m = this.compiled.get(name);
    if (!m) throw new SyncError("validation", ErrorCodes.InvalidConfig, `unknown mapping "${name}"; known mappings: ${[...this.compiled.keys()].join(", ")}`);
    return m;
  }

  get mappingNames(): string[] {
    return mappingOrder(this.deps.config);
  }

  /** Creates one run per mapping (parents first) and enqueues them. */
  async startRuns(req: StartRequest): Promise<RunRecord[]> {
    const names = req.mapping ? [this.mapping(req.mapping).name] : this.mappingNames;
    const runs: RunRecord[] = [];
    const runOf = new Map<string, string>();
    for (const name of names) {
      if (req.trigger === "timer") {
        // A scheduled tick while the previous run of this mapping is still going would read the same
        // delta again; skip it (a run that is stuck longer than ACTIVE_RUN_MS no longer blocks).
        const [latest] = await this.deps.state.listRuns({ mapping: name, limit: 1 });
        if (latest && ["queued", "planning", "writing"].includes(latest.status) && this.deps.clock.now() - Date.parse(latest.startedAt) < ACTIVE_RUN_MS) {
          this.deps.logger.info("scheduled run skipped: the previous run is still active", { mapping: name, runId: latest.runId });
          continue;
        }
      }
      const run = await this.deps.state.createRun(newRun(randomUUID(), name, req, this.nowIso()));
      runOf.set(name, run.runId);
      runs.push(run);
      const parents = this.parentsOf(name).map((p) => runOf.get(p)).filter((id): id is string => !!id);
      await this.deps.queues.runs.send({ runId: run.runId, mapping: name, mode: req.mode, dryRun: req.dryRun, trigger: req.trigger, after: parents });
    }
    return runs;
  }

  /** Plans a run and hands its writes to the queues. Returns the plan (for dry runs), or undefined. */
  async handleRun(msg: RunMessage): Promise<RunPlan | undefined> {
    const { state } = this.deps;
    const run = await state.getRun(msg.runId);
    if (!run || ["writing", "succeeded", "completed_with_failures", "failed"].includes(run.status)) return undefined;
    if (await this.parentsBusy(msg)) {
      await this.deps.queues.runs.send({ ...msg, waits: (msg.waits ?? 0) + 1 }, { delayMs: PARENT_WAIT_MS });
      return undefined;
    }
    await state.updateRun(msg.runId, (r) => ({ ...r, status: "planning" }));
    const m = this.mapping(msg.mapping);
    const deadIds = msg.dryRun ? new Set<string>() : await this.deadLetterIds(msg.mapping);
    let planned = 0;
    // Writes leave page by page while planning goes on. They go out before the run is marked
    // "writing" and before the cursors move: a crash re-plans the same changes, and writes are idempotent.
    const sink: PlanSink | undefined = msg.dryRun ? undefined : async (direction, ops) => {
      this.markDeadLetters(msg.mapping, ops, deadIds);
      planned += ops.length;
      await this.enqueue(direction, msg, ops);
      await this.deps.relieve?.();
    };
    let plan: RunPlan;
    try {
      plan = await planRun(this.deps, await this.decideContext(m, msg.runId), msg.mode === "full", this.deps.config.options, sink);
    } catch (e) {
      await this.failRun(msg.runId, e);
      return undefined;
    }
    if (msg.dryRun) {
      await state.updateRun(msg.runId, (r) => ({ ...r, ...plannedCounts(plan), status: "succeeded", finishedAt: this.nowIso(), notes: [...plan.notes, "dry run: nothing was written"] }));
      return plan;
    }
    await this.deadLetter(msg.mapping, msg.runId, plan.failures);
    for (const c of plan.parked) await state.putConflict(c);
    // Links refreshed without a write keep their ids, so they can go in batched transactions.
    await state.putLinks(plan.linkUpdates).catch((e) => this.deps.logger.warn("link refresh skipped", { mapping: m.name, error: errorMessage(e) }));
    // A record that failed before and now agrees on both sides is no longer a dead letter.
    for (const link of plan.linkUpdates) for (const id of this.deadLetterIdsOf(msg.mapping, link, deadIds)) await state.deleteDeadLetter(id);
    for (const link of plan.linkRemovals) await state.deleteLink(link);
    if (plan.cursors.dataverse) await this.saveCursor(m.name, "dataverse", plan.cursors.dataverse);
    if (plan.cursors.app) await this.saveCursor(m.name, "app", plan.cursors.app);
    await this.finish(await recordPlan(state, msg.runId, plan, planned, this.nowIso()));
    return plan;
  }

  /** Applies one chunk of writes; retries go back on the queue with a delay, failures to the dead letters. */
  async handleWrite(msg: WriteMessage): Promise<WriteOutcome> {
    const m = this.mapping(msg.mapping);
    const ops = writeOpsOf(msg);
    const refresh = ops.filter((o) => o.refresh);
    const planned = ops.filter((o) => !o.refresh);
    const outcome = msg.direction === "toDataverse"
      ? await writeToDataverse(this.writerContext(), m, planned)
      : await writeToApp(this.writerContext(), m, planned);
    for (const op of refresh) {
      mergeOutcome(outcome, await this.refresh(m, { appId: op.appId, dataverseId: op.dataverseId }, msg.runId, op.attempt));
      if (!op.uncounted) outcome.finished += 1; // the planned op is done: what it became is in the counts
    }
    await this.settle(msg.mapping, msg.runId, msg.direction, outcome);
    return outcome;
  }

  /** A webhook notice: re-read the record on both sides and sync it now. */
  async handleRecordEvent(ev: RecordEventMessage): Promise<WriteOutcome> {
    const m = this.mapping(ev.mapping);
    const ids = ev.side === "dataverse" ? { dataverseId: ev.id } : { appId: ev.id };
    const outcome = await this.refresh(m, ids, "events", 0);
    await this.settle(ev.mapping, "events", ev.side === "dataverse" ? "toApp" : "toDataverse", outcome);
    return outcome;
  }

  /**
   * Reads one record fresh on both sides and writes what differs. Its writes are `uncounted` (the
   * caller counts the op or event that asked for it) and their retries go to the queue of their own
   * direction.
   */
  private async refresh(m: CompiledMapping, ids: { appId?: string; dataverseId?: string }, runId: string, attempt: number): Promise<WriteOutcome> {
    const ctx = { ...(await this.decideContext(m, runId)), fresh: true };
    const decisions = await refreshRecord(this.deps, ctx, ids);
    const extra = (o: WriteOp) => ({ ...o, attempt, uncounted: true });
    const toDv = await writeToDataverse(this.writerContext(), m, decisions.toDataverse.map(extra));
    const toApp = await writeToApp(this.writerContext(), m, decisions.toApp.map(extra));
    if (toDv.retries.length) await this.enqueue("toDataverse", { runId, mapping: m.name }, toDv.retries, toDv.retryDelayMs);
    if (toApp.retries.length) await this.enqueue("toApp", { runId, mapping: m.name }, toApp.retries, toApp.retryDelayMs);
    toDv.retries = [];
    toApp.retries = [];
    const outcome = toDv;
    mergeOutcome(outcome, toApp);
    outcome.failures.push(...decisions.failures);
    outcome.counts.failed += decisions.failures.length;
    for (const c of decisions.parked) await this.deps.state.putConflict(c);
    for (const link of decisions.linkUpdates) await this.deps.state.putLink(link).catch(() => undefined);
    for (const link of decisions.linkRemovals) await this.deps.state.deleteLink(link);
    return outcome;
  }

  /** Ids of the mapping's dead letters, to recognise records that failed before. */
  private async deadLetterIds(mapping: string): Promise<Set<string>> {
    return new Set((await this.deps.state.listDeadLetters({ mapping, limit: 10_000 })).map((d) => d.id));
  }

  private deadLetterIdsOf(mapping: string, ids: { appId?: string; dataverseId?: string }, existing: Set<string>): string[] {
    return [`${mapping}|toDataverse|${ids.appId}`, `${mapping}|toApp|${ids.dataverseId}`].filter((id) => existing.has(id));
  }

  /** Writes of records that failed before carry their dead-letter ids, removed once they succeed. */
  private markDeadLetters(mapping: string, ops: WriteOp[], existing: Set<string>): void {
    if (!existing.size) return;
    for (const op of ops) {
      const ids = this.deadLetterIdsOf(mapping, op, existing);
      if (ids.length) op.clearDeadLetters = ids;
    }
  }

  private async settle(mapping: string, runId: string, direction: DirectionKey, outcome: WriteOutcome): Promise<void> {
    for (const id of new Set(outcome.clearedDeadLetters)) await this.deps.state.deleteDeadLetter(id);
    await this.deadLetter(mapping, runId, outcome.failures);
    if (outcome.retries.length) await this.enqueue(direction, { runId, mapping }, outcome.retries, outcome.retryDelayMs);
    if (runId === "events") return;
    const run = await recordWrites(this.deps.state, runId, direction, outcome, this.nowIso());
    if (run) await this.finish(run);
  }

  private async enqueue(direction: DirectionKey, msg: { runId: string; mapping: string }, ops: WriteOp[], delayMs = 0): Promise<void> {
    const queue = direction === "toDataverse" ? this.deps.queues.dataverseWrites : this.deps.queues.appWrites;
    const size = this.deps.config.options.chunkSize;
    const head = { runId: msg.runId, mapping: msg.mapping, direction };
    // A chunk that does not fit one queue message even compressed is halved until it does.
    const send = async (chunk: WriteOp[]): Promise<void> => {
      const packed = packWriteMessage(head, chunk);
      if (packed || chunk.length === 1) return void await queue.send(packed ?? { ...head, ops: chunk }, delayMs ? { delayMs } : undefined);
      const half = Math.ceil(chunk.length / 2);
      await send(chunk.slice(0, half));
      await send(chunk.slice(half));
    };
    for (let i = 0; i < ops.length; i += size) await send(ops.slice(i, i + size));
  }

  /** Stores failed records as dead letters (one per record, attempts counted) and reports them. */
  async deadLetter(mapping: string, runId: string, failures: RecordFailure[]): Promise<void> {
    const now = this.nowIso();
    for (const f of failures) {
      const id = `${mapping}|${f.direction}|${f.recordId}`;
      const prior = await this.deps.state.getDeadLetter(id);
      await this.deps.state.putDeadLetter({
        id, mapping, direction: f.direction, recordId: f.recordId, code: f.code, message: f.message,
        attempts: (prior?.attempts ?? 0) + 1, firstFailedAt: prior?.firstFailedAt ?? now, lastFailedAt: now, runId, payload: f.payload,
      });
      this.deps.telemetry.event(f.code === ErrorCodes.MassDeleteBlocked ? TelemetryEvents.massDeleteBlocked : TelemetryEvents.recordDeadLettered,
        { mapping, direction: f.direction, code: f.code, runId });
      this.deps.logger.warn("record dead-lettered", { mapping, direction: f.direction, recordId: f.recordId, code: f.code, message: f.message });
    }
  }

  /** Marks a run failed and does what a finished run does: health, telemetry, notification. */
  async failRun(runId: string, e: unknown): Promise<void> {
    const message = errorMessage(e);
    this.deps.logger.error("run failed", { runId, error: message });
    if (e instanceof SyncError && e.kind === "auth") this.deps.telemetry.event(TelemetryEvents.authFailed, { runId, code: e.code });
    const run = await this.deps.state.updateRun(runId, (r) => ({ ...r, status: "failed", error: message, finishedAt: this.nowIso() }));
    await this.finish(run);
  }

  private async finish(run: RunRecord | null): Promise<void> {
    if (run) await finishRun(this.deps, run);
  }

  private async saveCursor(mapping: string, side: "dataverse" | "app", value: string): Promise<void> {
    const current = await this.deps.state.getCursor(mapping, side);
    await this.deps.state.putCursor({ mapping, side, value, takenAt: this.nowIso(), etag: current?.etag });
  }

  private parentsOf(name: string): string[] {
    const m = this.mapping(name).mapping;
    return [...new Set(m.fields.map((f) => f.lookup?.mapping).filter((p): p is string => !!p && p !== name))];
  }

  private async parentsBusy(msg: RunMessage): Promise<boolean> {
    if (!msg.after?.length || (msg.waits ?? 0) >= MAX_PARENT_WAITS) return false;
    for (const id of msg.after) {
      const parent = await this.deps.state.getRun(id);
      if (parent && ["queued", "planning", "writing"].includes(parent.status)) return true;
    }
    return false;
  }

  private async decideContext(m: CompiledMapping, runId: string): Promise<DecideContext> {
    return { mapping: m, lookups: memoizeLookups(this.lookups), selfUserId: await this.deps.selfUserId(), runId, now: () => this.nowIso() };
  }

  private writerContext(): AppWriterContext {
    return {
      dataverse: this.deps.dataverse, app: this.deps.app, state: this.deps.state, lookups: this.lookups,
      maxAttempts: this.deps.config.options.maxAttempts, backoffMs: this.backoff, now: () => this.nowIso(), concurrency: 8,
    };
  }

  private nowIso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}
