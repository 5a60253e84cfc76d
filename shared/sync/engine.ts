import { randomUUID } from "node:crypto";
import type { ActivityMapping } from "../config/activityMapping.js";
import { mappingOrder } from "../config/mappingOrder.js";
import type { SyncConfig } from "../config/mapping.js";
import { ErrorCodes, SyncError, errorMessage } from "../errors.js";
import { TelemetryEvents } from "../names.js";
import type { RunMonitor } from "../telemetry/runMonitor.js";
import { recordWriteLag } from "../telemetry/syncMetrics.js";
import { ensureExpiryIndex, planExpiries, type ExpiryIndex } from "./expiryRules.js";
import type { Notifier } from "../ops/notifier.js";
import type { AppClient, Clock, DataverseClient, DataverseRow, DeadLetter, DirectionKey, Logger, PayloadStore, RunMode, RunRecord, SyncStateStore, Telemetry, WorkQueue } from "../ports.js";
import { runActivityMapping } from "./activityRun.js";
import { writeToApp, type AppWriterContext } from "./appWriter.js";
import { CompiledMapping } from "./compiledMapping.js";
import { refusedPairing, type DecideContext, type Decisions, type RecordFailure } from "./decide.js";
import { writeToDataverse } from "./dataverseWriter.js";
import { createLookupResolver, memoizeLookups, type LookupResolver } from "./lookups.js";
import { planRun, readRowsById, type PlanSink, type RunPlan } from "./planner.js";
import { planReconcile } from "./reconcileScan.js";
import { mapLimited } from "../mapLimited.js";
import { groupRecordEvents, linksOfDataverseIds, type RecordEventsResult } from "./recordEvents.js";
import { refreshRecord } from "./refresh.js";
import { withParentLinks } from "./eventLookups.js";
import type { Registry } from "./registry.js";
import { finishRun, newRun, plannedCounts, recordPlan, recordWrites, settleStatus } from "./runBook.js";
import { emptyOutcome, mergeOutcome, queueBackoff, type WriteOutcome } from "./writeOutcome.js";
import { opsOfPayload, outOfBandMessage, packForQueue, payloadText, recordTooLarge, writeOpsOf, type RecordEventMessage, type RunMessage, type WriteMessage, type WriteOp } from "./writeOps.js";

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
  /** Metrics and typed notifications of finished runs and failed records (shared/telemetry/runMonitor.ts). */
  monitor?: RunMonitor;
  /** The expiry rules' index: runs apply the rules to the records whose date has passed (expiryRules.ts). */
  expiry?: ExpiryIndex;
  /**
   * Called after each page of writes is enqueued while a run is planned. In-process runs
   * (`npm run sync`) apply queued writes here, so a large run never holds all its writes in memory.
   */
  relieve?: () => Promise<void>;
}

export interface StartRequest {
  mapping?: string;
  mode: RunMode;
  dryRun: boolean;
  trigger: RunMessage["trigger"];
}

/** Re-reads one write message decides side by side (each is a few reads and writes of one record). */
const REFRESH_CONCURRENCY = 8;
/** Records of one mapping and side whose notices are decided together (their rows: one read of 50). */
const EVENT_CHUNK = 50;
const CANONICAL_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Pending records a run reads and revisits at most (the rest wait for a later run, still recorded). */
const PENDING_LIMIT = 10_000;
/** A pending entry's id: one entry per record and direction (the app id for `toDataverse`, the Dataverse id for `toApp`). */
const pendingEntryId = (mapping: string, f: Pick<RecordFailure, "direction" | "recordId">): string => `${mapping}|${f.direction}|${f.recordId}`;

/** Back-off of a pending record across runs: 5 min after the first failure, doubling, at most a day. */
const PENDING_BACKOFF_MS = 5 * 60_000;
const PENDING_BACKOFF_MAX_MS = 24 * 3_600_000;

export function pendingBackoffMs(attempts: number): number {
  return Math.min(PENDING_BACKOFF_MAX_MS, PENDING_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
}

/** Whether a run should try a pending record again now (a breaker-held delete never is: an operator decides). */
function isDue(dl: DeadLetter, now: number): boolean {
  if (dl.code === ErrorCodes.MassDeleteBlocked) return false;
  return dl.nextAttemptAt === undefined || Date.parse(dl.nextAttemptAt) <= now;
}

/** The record's ids, from the entry or (entries written before they had them) from its payload. */
export function pendingIds(dl: Pick<DeadLetter, "direction" | "recordId" | "payload"> & { appId?: string; dataverseId?: string }): { appId?: string; dataverseId?: string } {
  const p = (dl.payload ?? {}) as { appId?: unknown; dataverseId?: unknown; op?: { appId?: unknown; dataverseId?: unknown } };
  const str = (v: unknown) => (typeof v === "string" && v && v !== "?" ? v : undefined);
  const appId = str(dl.appId) ?? str(p.appId) ?? str(p.op?.appId) ?? (dl.direction === "toDataverse" ? str(dl.recordId) : undefined);
  const dataverseId = str(dl.dataverseId) ?? str(p.dataverseId) ?? str(p.op?.dataverseId) ?? (dl.direction === "toApp" ? str(dl.recordId) : undefined);
  return { ...(appId ? { appId } : {}), ...(dataverseId ? { dataverseId } : {}) };
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
  /** `"kind": "activity"` mappings (activities.ts), run after their regarding mapping. */
  private readonly activities: Map<string, ActivityMapping>;
  readonly lookups: LookupResolver;
  private readonly backoff = queueBackoff();

  constructor(readonly deps: EngineDeps) {
    for (const m of deps.config.mappings) this.compiled.set(m.name, new CompiledMapping(m, deps.registry));
    this.activities = new Map((deps.config.activities ?? []).map((a) => [a.name, a]));
    this.lookups = createLookupResolver(deps.config, deps.state, deps.dataverse);
  }

  mapping(name: string): CompiledMapping {
    const m = this.compiled.get(name);
    if (!m) throw new SyncError("validation", ErrorCodes.InvalidConfig, `unknown mapping "${name}"; known mappings: ${[...this.compiled.keys()].join(", ")}`);
    return m;
  }

  get mappingNames(): string[] {
    return [...mappingOrder(this.deps.config), ...this.activities.keys()];
  }

  /** Creates one run per mapping (parents first) and enqueues them. */
  async startRuns(req: StartRequest): Promise<RunRecord[]> {
    const names = req.mapping ? [this.activities.has(req.mapping) ? req.mapping : this.mapping(req.mapping).name] : this.mappingNames;
    const runs: RunRecord[] = [];
    const runOf = new Map<string, string>();
    for (const name of names) {
      if (req.trigger === "timer") {
        // A scheduled tick while the previous run of this mapping is still going would read the same
        // delta again; skip it (a run that is stuck longer than ACTIVE_RUN_MS no longer blocks).
        const [latest] = await this.deps.state.listRuns({ mapping: name, limit: 1 });
        if (latest && ["queued", "planning", "writing"].includes(latest.status) && this.deps.clock.now() - Date.parse(latest.startedAt) < ACTIVE_RUN_MS) {
          this.deps.logger.info("scheduled run skipped: the previous run is still active", { mapping: name, runId: latest.runId });
          // Its children still wait for it: their lookups need the links that run is writing.
          runOf.set(name, latest.runId);
          continue;
        }
      }
      const runId = randomUUID();
      const parents = this.parentsOf(name).map((p) => runOf.get(p)).filter((id): id is string => !!id);
      // The message goes first: a crash right after it leaves a message whose worker creates the
      // run row (ensureRun); a crash before it leaves nothing. The other order could leave a
      // "queued" run that nothing will ever plan, and that holds back the schedule and its children.
      await this.deps.queues.runs.send({ runId, mapping: name, mode: req.mode, dryRun: req.dryRun, trigger: req.trigger, after: parents });
      const run = await this.ensureRun(newRun(runId, name, req, this.nowIso()));
      runOf.set(name, runId);
      runs.push(run);
    }
    return runs;
  }

  /** Creates the run row, or returns it when its worker (or an earlier attempt) created it first. */
  private async ensureRun(run: RunRecord): Promise<RunRecord> {
    try {
      return await this.deps.state.createRun(run);
    } catch (e) {
      const existing = await this.deps.state.getRun(run.runId);
      if (existing) return existing;
      throw e;
    }
  }

  /** Plans a run and hands its writes to the queues. Returns the plan (for dry runs), or undefined. */
  async handleRun(msg: RunMessage): Promise<RunPlan | undefined> {
    const { state } = this.deps;
    // A message whose starter died before it stored the run row creates the row itself.
    const run = (await state.getRun(msg.runId)) ?? (await this.ensureRun(newRun(msg.runId, msg.mapping, msg, this.nowIso())));
    if (!run || ["writing", "succeeded", "completed_with_failures", "failed"].includes(run.status)) return undefined;
    if (await this.parentsBusy(msg)) {
      await this.deps.queues.runs.send({ ...msg, waits: (msg.waits ?? 0) + 1 }, { delayMs: PARENT_WAIT_MS });
      return undefined;
    }
    await state.updateRun(msg.runId, (r) => ({ ...r, status: "planning" }));
    if (this.activities.has(msg.mapping)) return this.runActivities(msg);
    const m = this.mapping(msg.mapping);
    const pending = msg.dryRun ? new Map<string, DeadLetter>() : await this.pendingOf(msg.mapping);
    const deadIds = new Set(pending.keys());
    /** Pending records this run's feed decided again (their writes carry the pending ids). */
    const covered = new Set<string>();
    // Writes leave page by page while planning goes on. They go out before the run is marked
    // "writing" and before the cursors move: a crash re-plans the same changes, and writes are idempotent.
    const sink: PlanSink | undefined = msg.dryRun ? undefined : async (direction, ops) => {
      this.markDeadLetters(msg.mapping, ops, deadIds);
      for (const op of ops) for (const id of op.clearDeadLetters ?? []) covered.add(id);
      // Counted as planned as soon as they are queued (queued first: a crash in between must not
      // count writes that never left, which would keep the run "writing" for ever). If this plan
      // dies and the run is planned again, the writes already queued still finish and still count
      // against the run, so it cannot settle before the writes of the second plan are done.
      await this.enqueue(direction, msg, ops);
      await state.updateRun(msg.runId, (r) => ({ ...r, planned: r.planned + ops.length }));
      await this.deps.relieve?.();
    };
    let plan: RunPlan;
    try {
      const pendingKeys = new Set<string>();
      for (const dl of pending.values()) {
        // Deletes held by the breaker are decided by the planner as before, under the breaker.
        if (dl.code === ErrorCodes.MassDeleteBlocked) continue;
        const ids = pendingIds(dl);
        if (ids.appId) pendingKeys.add(`a:${ids.appId}`);
        if (ids.dataverseId) pendingKeys.add(`d:${ids.dataverseId}`);
      }
      // The expiry index of links from before the rule, built before this run writes links of its own.
      if (this.deps.expiry && msg.mode !== "reconcile" && sink) await ensureExpiryIndex({ ...this.deps, expiry: this.deps.expiry }, m);
      const ctx = { ...(await this.decideContext(m, msg.runId)), reconcile: msg.mode === "reconcile", pending: pendingKeys };
      // A reconcile run compares both complete reads with the links by hash, in bounded memory.
      plan = msg.mode === "reconcile"
        ? await planReconcile(this.deps, ctx, this.deps.config.options, sink)
        : await planRun(this.deps, ctx, msg.mode === "full", this.deps.config.options, sink);
      if (this.deps.expiry && msg.mode !== "reconcile") {
        // A dry run lists the expiry writes with the others (and leaves the index as it is).
        const expiries = await planExpiries({ ...this.deps, expiry: this.deps.expiry }, m, this.lookups, { dryRun: !sink });
        if (!sink) {
          plan.toDataverse.push(...expiries.toDataverse);
          plan.toApp.push(...expiries.toApp);
        } else {
          if (expiries.toDataverse.length) await sink("toDataverse", expiries.toDataverse);
          if (expiries.toApp.length) await sink("toApp", expiries.toApp);
        }
      }
    } catch (e) {
      await this.failRun(msg.runId, e);
      return undefined;
    }
    if (msg.dryRun) {
      await state.updateRun(msg.runId, (r) => ({ ...r, ...plannedCounts(plan, r.mode), status: "succeeded", finishedAt: this.nowIso(), notes: [...plan.notes, "dry run: nothing was written"] }));
      return plan;
    }
    // Everything read that did not go out is recorded as pending before the cursors move past it.
    await this.deadLetter(msg.mapping, msg.runId, plan.failures);
    await this.deadLetter(msg.mapping, msg.runId, plan.pending, { failed: false });
    for (const f of [...plan.failures, ...plan.pending]) covered.add(pendingEntryId(msg.mapping, f));
    for (const c of plan.parked) await state.putConflict(c);
    // Links refreshed without a write keep their ids, so they can go in batched transactions. A
    // failure fails the run before its cursors move: the next run decides these records again.
    // Pairs made by key are claims (Link.claim): one refused is a row a writer paired otherwise meanwhile, kept pending.
    const refused = await state.putLinks(plan.linkUpdates);
    if (refused.length) await this.deadLetter(msg.mapping, msg.runId, refused.map((l) => refusedPairing(msg.mapping, l)), { failed: false });
    const refusedIds = new Set(refused.map((l) => l.dataverseId));
    // A record that failed before and now agrees on both sides is no longer a dead letter.
    for (const link of plan.linkUpdates) {
      if (refusedIds.has(link.dataverseId)) continue;
      for (const id of this.deadLetterIdsOf(msg.mapping, link, deadIds)) await state.deleteDeadLetter(id);
    }
    for (const link of plan.linkRemovals) await state.deleteLink(link);
    // Pending records this run did not meet in its feeds are re-read fresh on both sides and decided again.
    const revisits = await this.revisitPending(msg, pending, covered, plan.deferred);
    if (plan.cursors.dataverse) await this.saveCursor(m.name, "dataverse", plan.cursors.dataverse);
    if (plan.cursors.app) await this.saveCursor(m.name, "app", plan.cursors.app);
    await this.finish(await recordPlan(state, msg.runId, plan, revisits, this.nowIso()));
    return plan;
  }

  /** Applies one chunk of writes; retries go back on the queue with a delay, failures to the dead letters. */
  async handleWrite(msg: WriteMessage): Promise<WriteOutcome> {
    const m = this.mapping(msg.mapping);
    const ops = await this.opsOf(msg);
    const refresh = ops.filter((o) => o.refresh);
    const planned = ops.filter((o) => !o.refresh);
    const outcome = msg.direction === "toDataverse"
      ? await writeToDataverse(this.writerContext(), m, planned)
      : await writeToApp(this.writerContext(), m, planned);
    recordWriteLag(this.deps.telemetry, { mapping: m.name, direction: msg.direction, path: "scheduled", now: this.deps.clock.now() }, planned, outcome);
    // Re-reads (pending records, lost If-Match races) read their Dataverse rows 50 to a request,
    // then decide and write several records side by side.
    const prefetched = await this.prefetchRows(m, refresh.map((o) => o.dataverseId));
    await mapLimited(refresh, REFRESH_CONCURRENCY, async (op) => {
      mergeOutcome(outcome, await this.refresh(m, { appId: op.appId, dataverseId: op.dataverseId }, msg.runId, op.attempt, op.clearDeadLetters, prefetched));
      if (!op.uncounted) outcome.finished += 1; // the planned op is done: what it became is in the counts
    });
    await this.settle(msg.mapping, msg.runId, msg.direction, outcome);
    if (msg.payloadRef) await this.dropPayload(msg);
    return outcome;
  }

  /** A webhook notice: re-read the record on both sides and sync it now (throws when it could not be). */
  async handleRecordEvent(ev: RecordEventMessage): Promise<WriteOutcome> {
    const { outcome, failed } = await this.handleRecordEvents([ev]);
    if (failed.length) throw failed[0].error;
    return outcome;
  }

  /**
   * Many webhook notices at once (a worker takes what its queue holds): per mapping and side, each
   * record once however many notices name it, its Dataverse rows read 50 to a request, the writes
   * of all of them through the batching writers. A record that could not be decided or written
   * comes back in `failed` (its notices are to be delivered again); the others are durable (written,
   * retried through a write queue, or pending) when this returns.
   */
  async handleRecordEvents(events: readonly RecordEventMessage[]): Promise<RecordEventsResult> {
    const result: RecordEventsResult = { outcome: emptyOutcome(), failed: [] };
    const fail = (evs: readonly RecordEventMessage[], error: unknown) => { for (const event of evs) result.failed.push({ event, error }); };
    for (const group of groupRecordEvents(events)) {
      if (this.activities.has(group.mapping)) {
        for (const ev of group.events) await this.activityEvent(ev).then((o) => mergeOutcome(result.outcome, o), (e: unknown) => fail([ev], e));
        continue;
      }
      for (let i = 0; i < group.ids.length; i += EVENT_CHUNK) {
        const ids = group.ids.slice(i, i + EVENT_CHUNK);
        try {
          const m = this.mapping(group.mapping);
          const { outcome, failed } = await this.refreshEvents(m, group.side, ids);
          await this.settle(m.name, "events", group.side === "dataverse" ? "toApp" : "toDataverse", outcome);
          mergeOutcome(result.outcome, outcome);
          for (const f of failed) fail(group.byId.get(f.id)!, f.error);
        } catch (e) {
          // What this chunk wrote before the error is re-read, found equal and not written again.
          fail(ids.flatMap((id) => group.byId.get(id)!), e);
        }
      }
    }
    return result;
  }

  /** Decides records named by notices of one side from fresh reads (their rows read together), then writes them all. */
  private async refreshEvents(m: CompiledMapping, side: RecordEventMessage["side"], ids: string[]): Promise<{ outcome: WriteOutcome; failed: { id: string; error: unknown }[] }> {
    // The links of the whole batch, and of the parents its rows name, in a few Table queries, not a read or two per record.
    const byApp = side === "app" ? await this.deps.state.getLinksByApp(m.name, ids) : undefined;
    const prefetched = await this.prefetchRows(m, byApp ? ids.map((id) => byApp.get(id)?.dataverseId) : ids);
    const links = byApp ?? await linksOfDataverseIds(this.deps.state, m.name, ids, prefetched, m.idKeyColumn);
    const base = await this.decideContext(m, "events");
    const ctx = { ...base, lookups: await withParentLinks(this.deps.state, m, prefetched?.values() ?? [], base.lookups), fresh: true };
    const failed: { id: string; error: unknown }[] = [];
    const decided = await mapLimited(ids, REFRESH_CONCURRENCY, async (id) => {
      try {
        return await refreshRecord(this.deps, ctx, side === "dataverse" ? { dataverseId: id } : { appId: id }, prefetched, links.get(id) ?? null, { appFromLink: side === "dataverse" });
      } catch (error) {
        failed.push({ id, error });
        return undefined;
      }
    });
    const outcome = await this.applyRefreshed(m, "events", decided.flatMap((decisions) => (decisions ? [{ decisions, attempt: 0 }] : [])));
    return { outcome, failed };
  }

  /**
   * Reads one record fresh on both sides and writes what differs. Its writes are `uncounted` (the
   * caller counts the op or event that asked for it) and their retries go to the queue of their own
   * direction.
   */
  private async refresh(
    m: CompiledMapping, ids: { appId?: string; dataverseId?: string }, runId: string, attempt: number, clearPending: string[] = [], prefetched?: Map<string, DataverseRow | null>,
  ): Promise<WriteOutcome> {
    const ctx = { ...(await this.decideContext(m, runId)), fresh: true };
    const decisions = await refreshRecord(this.deps, ctx, ids, prefetched);
    return this.applyRefreshed(m, runId, [{ decisions, attempt, clearPending }]);
  }

  /** Writes what fresh reads decided, for one record or many (the writers batch them). */
  private async applyRefreshed(m: CompiledMapping, runId: string, records: { decisions: Decisions; attempt: number; clearPending?: string[] }[]): Promise<WriteOutcome> {
    const toDvOps: WriteOp[] = [];
    const toAppOps: WriteOp[] = [];
    const cleared: string[] = [];
    for (const { decisions, attempt, clearPending = [] } of records) {
      const settled = !decisions.failures.length && !decisions.pending.length && !decisions.parked.length;
      // The record's pending entries go once its writes succeed (or at once when nothing needs writing).
      const clear = settled && clearPending.length ? { clearDeadLetters: clearPending } : {};
      const extra = (o: WriteOp) => ({ ...o, attempt, uncounted: true, ...clear });
      toDvOps.push(...decisions.toDataverse.map(extra));
      toAppOps.push(...decisions.toApp.map(extra));
      if (settled && !decisions.toDataverse.length && !decisions.toApp.length) cleared.push(...clearPending);
    }
    const toDv = await writeToDataverse(this.writerContext(), m, toDvOps);
    const toApp = await writeToApp(this.writerContext(), m, toAppOps);
    const lagAt = { mapping: m.name, path: runId === "events" ? "webhook" as const : "scheduled" as const, now: this.deps.clock.now() };
    recordWriteLag(this.deps.telemetry, { ...lagAt, direction: "toDataverse" }, records.flatMap((r) => r.decisions.toDataverse), toDv);
    recordWriteLag(this.deps.telemetry, { ...lagAt, direction: "toApp" }, records.flatMap((r) => r.decisions.toApp), toApp);
    if (toDv.retries.length) await this.enqueue("toDataverse", { runId, mapping: m.name }, toDv.retries, toDv.retryDelayMs);
    if (toApp.retries.length) await this.enqueue("toApp", { runId, mapping: m.name }, toApp.retries, toApp.retryDelayMs);
    toDv.retries = [];
    toApp.retries = [];
    const outcome = toDv;
    mergeOutcome(outcome, toApp);
    outcome.clearedDeadLetters.push(...cleared);
    for (const { decisions } of records) {
      outcome.failures.push(...decisions.failures);
      outcome.counts.failed += decisions.failures.length;
      await this.deadLetter(m.name, runId, decisions.pending, { failed: false });
      for (const c of decisions.parked) await this.deps.state.putConflict(c);
      for (const link of decisions.linkUpdates) {
        if (!link.claim) {
          await this.deps.state.putLink(link).catch(() => undefined);
          continue;
        }
        // A pair made by key (Link.claim): refused, the row stays pending and its entries are not cleared.
        const refused = await this.deps.state.putLinks([link]).catch(() => []);
        if (!refused.length) continue;
        const pending = refusedPairing(m.name, link);
        await this.deadLetter(m.name, runId, [pending], { failed: false });
        outcome.clearedDeadLetters = outcome.clearedDeadLetters.filter((id) => id !== pendingEntryId(m.name, pending));
      }
      for (const link of decisions.linkRemovals) await this.deps.state.deleteLink(link);
    }
    return outcome;
  }

  /**
   * The Dataverse rows of many re-reads in a few requests (a single one is read by the refresh
   * itself). Only ids in Dataverse's own spelling (lower-case GUIDs) are read here: the map is
   * looked up by the id as given, and a row found under another spelling must not look deleted.
   */
  private async prefetchRows(m: CompiledMapping, wanted: readonly (string | undefined)[]): Promise<Map<string, DataverseRow | null> | undefined> {
    const ids = [...new Set(wanted.filter((id): id is string => !!id && CANONICAL_GUID.test(id)))];
    if (ids.length < 2) return undefined;
    const rows = new Map<string, DataverseRow | null>(ids.map((id) => [id, null]));
    for (const row of await readRowsById(this.deps, m, ids)) rows.set(String(row[m.primaryId]), row);
    return rows;
  }

  /** The mapping's pending records (at most PENDING_LIMIT), to recognise and revisit records that did not sync. */
  private async pendingOf(mapping: string): Promise<Map<string, DeadLetter>> {
    return new Map((await this.deps.state.listDeadLetters({ mapping, limit: PENDING_LIMIT })).map((d) => [d.id, d]));
  }

  /**
   * Sends a fresh re-read of every due pending record that this run's feeds did not decide again
   * (the writer reads both sides, decides, writes; see `refresh`). One attempt per run: a record
   * that keeps failing is spaced out by `nextAttemptAt`, not retried five times every run.
   * Returns how many ops were sent.
   */
  private async revisitPending(msg: RunMessage, pending: Map<string, DeadLetter>, covered: Set<string>, deferred: { appId?: string; dataverseId?: string }[]): Promise<number> {
    const now = this.deps.clock.now();
    const byRecord = new Map<string, WriteOp>();
    const met = new Set<string>();
    for (const d of deferred) {
      if (d.appId) met.add(`a:${d.appId}`);
      if (d.dataverseId) met.add(`d:${d.dataverseId}`);
    }
    for (const dl of pending.values()) {
      const ids = pendingIds(dl);
      // A pending record that changed again (met in the feeds) is due at once, whatever its back-off.
      const changed = (!!ids.appId && met.has(`a:${ids.appId}`)) || (!!ids.dataverseId && met.has(`d:${ids.dataverseId}`));
      if (covered.has(dl.id) || dl.code === ErrorCodes.MassDeleteBlocked || !(changed || isDue(dl, now))) continue;
      if (!ids.appId && !ids.dataverseId) continue;
      const key = `${ids.appId ?? ""}|${ids.dataverseId ?? ""}`;
      const op = byRecord.get(key);
      if (op) {
        op.clearDeadLetters!.push(dl.id);
        continue;
      }
      byRecord.set(key, { kind: "update", refresh: true, ...ids, values: {}, base: {}, attempt: Math.max(0, this.deps.config.options.maxAttempts - 1), clearDeadLetters: [dl.id] });
    }
    const ops = [...byRecord.values()];
    // A record pending in both directions is re-read once and clears both entries when it syncs.
    for (const op of ops) for (const id of this.deadLetterIdsOf(msg.mapping, op, new Set(pending.keys()))) if (!op.clearDeadLetters!.includes(id)) op.clearDeadLetters!.push(id);
    if (ops.length) {
      await this.enqueue("toDataverse", msg, ops);
      this.deps.logger.info("pending records re-read", { mapping: msg.mapping, runId: msg.runId, count: ops.length });
    }
    return ops.length;
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
    const options = delayMs ? { delayMs } : undefined;
    // Size is handled per record (writeOps.ts packForQueue): a chunk is halved until it fits a message,
    // a record that fits none alone travels out of band, and one beyond the record limit fails alone.
    for (let i = 0; i < ops.length; i += size) {
      for (const part of packForQueue(head, ops.slice(i, i + size))) {
        if (part.kind === "message") await queue.send(part.message, options);
        else if (part.kind === "outOfBand") await queue.send(outOfBandMessage(head, await this.storePayload(part.op)), options);
        else await this.failTooLarge(msg, direction, part.op, part.bytes);
      }
    }
  }

  /**
   * Records records that did not sync as pending (one entry per record and direction, attempts
   * counted, next attempt backed off across runs) and reports them. `failed: false` for records that
   * wait without having failed (filtered, parked conflicts).
   */
  async deadLetter(mapping: string, runId: string, failures: RecordFailure[], options: { failed?: boolean } = {}): Promise<void> {
    const now = this.deps.clock.now();
    const nowIso = new Date(now).toISOString();
    for (const f of failures) {
      const id = pendingEntryId(mapping, f);
      const prior = await this.deps.state.getDeadLetter(id);
      const attempts = (prior?.attempts ?? 0) + 1;
      const ids = { ...pendingIds({ direction: f.direction, recordId: f.recordId, payload: f.payload }), ...(f.appId ? { appId: f.appId } : {}), ...(f.dataverseId ? { dataverseId: f.dataverseId } : {}) };
      await this.deps.state.putDeadLetter({
        id, mapping, direction: f.direction, recordId: f.recordId, ...ids, code: f.code, message: f.message,
        attempts, firstFailedAt: prior?.firstFailedAt ?? nowIso, lastFailedAt: nowIso,
        // A delete held by the breaker waits for an operator; everything else is tried again later.
        ...(f.code === ErrorCodes.MassDeleteBlocked ? {} : { nextAttemptAt: new Date(now + pendingBackoffMs(attempts)).toISOString() }),
        runId, payload: f.payload,
      });
      if (options.failed === false) {
        this.deps.logger.info("record pending", { mapping, direction: f.direction, recordId: f.recordId, code: f.code });
        continue;
      }
      this.deps.telemetry.event(f.code === ErrorCodes.MassDeleteBlocked ? TelemetryEvents.massDeleteBlocked : TelemetryEvents.recordDeadLettered,
        { mapping, direction: f.direction, code: f.code, runId });
      this.deps.logger.warn("record dead-lettered", { mapping, direction: f.direction, recordId: f.recordId, code: f.code, message: f.message });
      await this.deps.monitor?.recordFailed(mapping, runId, f);
    }
  }

  /** Marks a run failed and does what a finished run does: health, telemetry, notification. */
  async failRun(runId: string, e: unknown): Promise<void> {
    const message = errorMessage(e);
    this.deps.logger.error("run failed", { runId, error: message });
    if (e instanceof SyncError && e.kind === "auth") this.deps.telemetry.event(TelemetryEvents.authFailed, { runId, code: e.code });
    const errorCode = e instanceof SyncError ? { errorCode: e.code } : {};
    const run = await this.deps.state.updateRun(runId, (r) => ({ ...r, status: "failed", error: message, ...errorCode, finishedAt: this.nowIso() }));
    await this.finish(run);
  }

  private async finish(run: RunRecord | null): Promise<void> {
    if (run) await finishRun(this.deps, run);
    if (run) await this.deps.monitor?.runFinished(run);
  }

  /** A run of an activity mapping: its writes are made inline (activityRun.ts), so it settles at once. */
  private async runActivities(msg: RunMessage): Promise<undefined> {
    const m = this.activities.get(msg.mapping)!;
    if (msg.dryRun) {
      await this.deps.state.updateRun(msg.runId, (r) => ({ ...r, status: "succeeded", finishedAt: this.nowIso(), notes: ["dry run: activity mappings are not planned in dry runs; nothing was written"] }));
      return undefined;
    }
    try {
      const pending = await this.pendingOf(msg.mapping);
      const out = await runActivityMapping(this.deps, m, { full: msg.mode !== "delta" }, this.activityHooks(msg.mapping, msg.runId, pending));
      const counts = { created: out.created, updated: out.closed, deleted: 0, skipped: out.skipped, failed: out.failed };
      const run = await this.deps.state.updateRun(msg.runId, (r) => ({
        ...r, status: out.failed ? "completed_with_failures" : "succeeded", finishedAt: this.nowIso(), toDataverse: counts, notes: [...r.notes, ...out.notes],
      }));
      await this.finish(run);
    } catch (e) {
      await this.failRun(msg.runId, e);
    }
    return undefined;
  }

  /** The app's change notice for activities: those activities now. */
  private async activityEvent(ev: RecordEventMessage): Promise<WriteOutcome> {
    const outcome = emptyOutcome();
    const out = await runActivityMapping(this.deps, this.activities.get(ev.mapping)!, { full: false, appIds: [ev.id] }, this.activityHooks(ev.mapping, "events", new Map()));
    Object.assign(outcome.counts, { created: out.created, updated: out.closed, skipped: out.skipped, failed: out.failed });
    outcome.notes.push(...out.notes);
    return outcome;
  }

  private activityHooks(mapping: string, runId: string, pending: Map<string, DeadLetter>) {
    return {
      // An activity waiting for its contact is looked at every run (the contact may have synced just before).
      pendingAppIds: [...pending.values()].filter((d) => d.code === ErrorCodes.UnresolvedLookup || isDue(d, this.deps.clock.now()))
        .map((d) => pendingIds(d).appId).filter((id): id is string => !!id),
      recordPending: async (failures: RecordFailure[]) => {
        // A contact that is not linked yet is a wait, not a failure.
        await this.deadLetter(mapping, runId, failures.filter((f) => f.code === ErrorCodes.UnresolvedLookup), { failed: false });
        await this.deadLetter(mapping, runId, failures.filter((f) => f.code !== ErrorCodes.UnresolvedLookup));
      },
      // Only entries that exist are deleted (one Table call each); a change notice may clear its own.
      cleared: async (appIds: string[]) => {
        for (const id of appIds.map((a) => `${mapping}|toDataverse|${a}`)) if (pending.has(id) || runId === "events") await this.deps.state.deleteDeadLetter(id);
      },
    };
  }

  private async saveCursor(mapping: string, side: "dataverse" | "app", value: string): Promise<void> {
    const current = await this.deps.state.getCursor(mapping, side);
    await this.deps.state.putCursor({ mapping, side, value, takenAt: this.nowIso(), etag: current?.etag });
  }

  private parentsOf(name: string): string[] {
    const activity = this.activities.get(name);
    if (activity) return [activity.regarding.mapping];
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

  /**
   * The ops of a write message. Out-of-band ones are loaded from the state store; a payload that is
   * gone was deleted after an earlier delivery of this message settled it, so nothing is left to do.
   */
  private async opsOf(msg: WriteMessage): Promise<WriteOp[]> {
    if (!msg.payloadRef) return writeOpsOf(msg);
    const text = await this.payloadStore().getPayload(msg.payloadRef);
    if (text === null) {
      this.deps.logger.warn("out-of-band write already done: its payload is gone", { mapping: msg.mapping, runId: msg.runId, payloadRef: msg.payloadRef });
      return [];
    }
    return opsOfPayload(text, msg.payloadRef);
  }

  /**
   * Stores a record too large for any queue message; its message carries only the returned id. A
   * crash before the message is sent leaves an orphan payload, which is harmless: nothing refers to
   * it, and the record is planned again because the run did not finish.
   */
  private async storePayload(op: WriteOp): Promise<string> {
    const id = randomUUID();
    await this.payloadStore().putPayload(id, payloadText([op]));
    return id;
  }

  /**
   * Deletes a message's payload once its outcome is settled. A crash (or a failed delete) before that
   * leaves the payload behind, which is harmless: a redelivered message finds it and writes again
   * (writes are idempotent); once the message is complete, nothing reads it any more.
   */
  private async dropPayload(msg: WriteMessage): Promise<void> {
    try {
      await this.payloadStore().deletePayload(msg.payloadRef!);
    } catch (e) {
      this.deps.logger.warn("out-of-band payload left behind (harmless)", { mapping: msg.mapping, payloadRef: msg.payloadRef, error: errorMessage(e) });
    }
  }

  private payloadStore(): PayloadStore {
    const store = this.deps.state.payloads;
    if (!store) throw new SyncError("validation", ErrorCodes.PayloadTooLarge, "a record is too large for a queue message, and this state store keeps no out-of-band payloads");
    return store;
  }

  /** A record beyond the record limit fails alone, before anything of it is sent (counted like a failed write). */
  private async failTooLarge(msg: { runId: string; mapping: string }, direction: DirectionKey, op: WriteOp, bytes: number): Promise<void> {
    const outcome = emptyOutcome();
    outcome.counts.failed = 1;
    outcome.finished = op.uncounted ? 0 : 1;
    outcome.failures.push(recordTooLarge(direction, op, bytes));
    await this.settle(msg.mapping, msg.runId, direction, outcome);
  }

  /**
   * Counts the ops of a write message the host gave up on (poison) as processed and failed on its
   * run, so the run still finishes (as completed_with_failures, with health and alerts). `marker`,
   * a note naming the message, is added in the same compare-and-set as the counts: a run that holds
   * it already is left as it is, so the message counts once however often the poison handler runs.
   * Returns whether this call counted it (false too when the run is gone, or for webhook events).
   */
  async settlePoisoned(msg: WriteMessage, ops: WriteOp[], marker: string): Promise<boolean> {
    if (!(await this.deps.state.getRun(msg.runId))) return false;
    let counted = false;
    let finished: RunRecord | null = null;
    await this.deps.state.updateRun(msg.runId, (r) => {
      counted = !r.notes.includes(marker);
      finished = null;
      if (!counted) return r;
      const counts = { ...r[msg.direction], failed: r[msg.direction].failed + ops.length };
      const processed = r.processed + ops.filter((o) => !o.uncounted).length;
      const next = settleStatus({ ...r, [msg.direction]: counts, processed, notes: [...r.notes, marker] }, this.nowIso());
      if (next.status !== r.status) finished = next;
      return next;
    });
    await this.finish(finished);
    return counted;
  }
}
