import { ErrorCodes, SyncError, errorMessage, isSyncError } from "../errors.js";
import type { DirectionCounts, DirectionKey, Link, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import type { RecordFailure } from "./decide.js";
import { hashCanonical } from "./hash.js";
import { recordIdOf, type WriteOp } from "./writeOps.js";

/** What one write message (or a single-record refresh) achieved. */
export interface WriteOutcome {
  counts: DirectionCounts;
  /** Ops that reached a final state (written, skipped, or dead-lettered). */
  finished: number;
  /** Ops to try again, with attempt already incremented. */
  retries: WriteOp[];
  /** Minimum delay before the retries (honours Retry-After). */
  retryDelayMs: number;
  failures: RecordFailure[];
  notes: string[];
  /** Dead letters of records that have now synced (deleted by the engine). */
  clearedDeadLetters: string[];
}

export function emptyOutcome(): WriteOutcome {
  return { counts: { created: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 }, finished: 0, retries: [], retryDelayMs: 0, failures: [], notes: [], clearedDeadLetters: [] };
}

export function mergeOutcome(into: WriteOutcome, from: WriteOutcome): void {
  for (const k of Object.keys(from.counts) as (keyof DirectionCounts)[]) into.counts[k] = (into.counts[k] ?? 0) + (from.counts[k] ?? 0);
  into.finished += from.finished;
  into.retries.push(...from.retries);
  into.retryDelayMs = Math.max(into.retryDelayMs, from.retryDelayMs);
  into.failures.push(...from.failures);
  into.notes.push(...from.notes);
  into.clearedDeadLetters.push(...from.clearedDeadLetters);
}

export function succeeded(out: WriteOutcome, kind: "created" | "updated" | "deleted" | "skipped", op?: WriteOp): void {
  out.counts[kind] += 1;
  if (!op?.uncounted) out.finished += 1;
  if (op?.clearDeadLetters?.length) out.clearedDeadLetters.push(...op.clearDeadLetters);
}

/**
 * A failed op: retried with back-off while the error is transient and attempts remain, otherwise
 * dead-lettered with the server's message (permanent errors go at once).
 */
export function failed(out: WriteOutcome, direction: DirectionKey, op: WriteOp, error: unknown, maxAttempts: number, backoffMs: (attempt: number) => number): void {
  const err = isSyncError(error) ? error : new SyncError("transient", ErrorCodes.Network, errorMessage(error), { cause: error });
  const attempts = op.attempt + 1;
  if (err.retryable && attempts < maxAttempts) {
    out.retries.push({ ...op, attempt: attempts });
    out.retryDelayMs = Math.max(out.retryDelayMs, err.retryAfterMs ?? 0, backoffMs(attempts));
    return;
  }
  out.counts.failed += 1;
  if (!op.uncounted) out.finished += 1;
  const code = err.retryable ? ErrorCodes.AttemptsExhausted : err.code;
  const message = err.retryable ? `gave up after ${attempts} attempts: ${err.message}` : err.message;
  out.failures.push({ direction, recordId: recordIdOf(direction, op), code, message, retryable: err.retryable, payload: { direction, op: { ...op, attempt: 0, uncounted: undefined } } });
}

/** Exponential back-off with full jitter: 2^attempt seconds, at most 5 minutes. */
export function queueBackoff(random: () => number = Math.random): (attempt: number) => number {
  return (attempt) => Math.round(Math.min(300_000, 1000 * 2 ** attempt) * (0.5 + random() / 2));
}

/**
 * Records a successful write in the link map: the written fields join the base (each writer only
 * claims the fields it wrote, so a failure on the other side never pretends both agree).
 */
export async function recordLink(
  state: SyncStateStore, m: CompiledMapping, appId: string, dataverseId: string, base: WriteOp["base"],
  versions: { appVersion?: string; dataverseVersion?: string }, now: string, options: { claim?: boolean } = {},
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const byApp = await state.getLinkByApp(m.name, appId);
    // A claim (Link.claim) is refused when the app record is linked to another row.
    if (options.claim && byApp && !byApp.pendingCreate && byApp.dataverseId !== dataverseId) return false;
    const existing = byApp ?? (await state.getLinkByDataverse(m.name, dataverseId));
    const merged = { ...(existing?.base ?? {}), ...base };
    const link: Link = {
      mapping: m.name, appId, dataverseId, base: merged, hash: hashCanonical(merged),
      appVersion: versions.appVersion ?? existing?.appVersion, dataverseVersion: versions.dataverseVersion ?? existing?.dataverseVersion,
      lastSyncedAt: now, etag: existing?.etag,
    };
    try {
      if (existing && existing.appId !== appId) await state.deleteLink(existing);
      // A claim on an app record without a link is written by the store only while that holds (atomically).
      if (options.claim && !byApp) return (await state.putLinks([{ ...link, etag: undefined, claim: true }])).length === 0;
      await state.putLink(existing && existing.appId !== appId ? { ...link, etag: undefined } : link);
      return true;
    } catch (e) {
      if (!(isSyncError(e) && e.code === ErrorCodes.Concurrency) || attempt >= 5) throw e;
    }
  }
}

/** A link a writer stores without reading the current one (see WriteOp.fullBase), with the op it settles. */
export interface PendingLink {
  op: WriteOp;
  kind: "created" | "updated";
  link: Link;
}

/** Whether a successful op's link can be written blind (batched): a create, or an update carrying the whole base. */
export function canBatchLink(op: WriteOp): boolean {
  return op.kind === "create" || (op.kind === "update" && op.fullBase === true);
}

export function pendingLink(
  m: CompiledMapping, op: WriteOp, kind: PendingLink["kind"], appId: string, dataverseId: string, base: WriteOp["base"],
  versions: { appVersion?: string; dataverseVersion?: string }, now: string,
): PendingLink {
  return { op, kind, link: { mapping: m.name, appId, dataverseId, base, hash: hashCanonical(base), ...definedVersions(versions), lastSyncedAt: now } };
}

/**
 * Stores the pending links of one message in one putLinks call and settles their ops: counted as
 * written when the links land, retried (or dead-lettered) as a whole when they do not — the write
 * itself is idempotent, a retried create finds its row by key. A refused claim (Link.claim) goes to
 * `onRefused`, which settles its op.
 */
export async function flushLinks(
  state: SyncStateStore, direction: DirectionKey, pending: PendingLink[], out: WriteOutcome, maxAttempts: number, backoffMs: (attempt: number) => number,
  onRefused?: (p: PendingLink) => Promise<void>,
): Promise<void> {
  if (!pending.length) return;
  let refused: Link[];
  try {
    refused = await state.putLinks(pending.map((p) => p.link));
  } catch (e) {
    for (const p of pending) failed(out, direction, p.op, e, maxAttempts, backoffMs);
    return;
  }
  const refusedIds = new Set(refused.map((l) => `${l.appId}\u0000${l.dataverseId}`));
  for (const p of pending) {
    if (!refusedIds.has(`${p.link.appId}\u0000${p.link.dataverseId}`)) succeeded(out, p.kind, p.op);
    else if (!onRefused) throw new Error(`link ${p.link.mapping}/${p.link.appId} was claimed by a writer that cannot handle a refusal`);
    else {
      try {
        await onRefused(p);
      } catch (e) {
        failed(out, direction, p.op, e, maxAttempts, backoffMs);
      }
    }
  }
}

/**
 * A write of a pair made by key (WriteOp.pairedByKey) landed, but its link claim was refused: a
 * writer linked the app record to another row meanwhile. The record is read on both sides and
 * decided again (the row is then a duplicate, decide.ts holdDuplicate).
 */
export function redecideRefused(out: WriteOutcome, direction: DirectionKey, m: CompiledMapping, op: WriteOp, maxAttempts: number, backoffMs: (attempt: number) => number): void {
  out.notes.push(`${m.name}: app record ${op.appId} was linked to another Dataverse row while row ${op.dataverseId} was paired with it by key; it is decided again`);
  const again: WriteOp = { ...op, pairedByKey: undefined, refresh: true };
  if (op.attempt + 1 < maxAttempts) return void out.retries.push({ ...again, attempt: op.attempt + 1 });
  failed(out, direction, again, new SyncError("conflict", ErrorCodes.DuplicateKey, `app record ${op.appId} is linked to another Dataverse row than ${op.dataverseId}`), maxAttempts, backoffMs);
}

function definedVersions(v: { appVersion?: string; dataverseVersion?: string }): { appVersion?: string; dataverseVersion?: string } {
  return { ...(v.appVersion !== undefined ? { appVersion: v.appVersion } : {}), ...(v.dataverseVersion !== undefined ? { dataverseVersion: v.dataverseVersion } : {}) };
}

export async function removeLink(state: SyncStateStore, m: CompiledMapping, appId?: string, dataverseId?: string): Promise<void> {
  const link = (appId ? await state.getLinkByApp(m.name, appId) : null) ?? (dataverseId ? await state.getLinkByDataverse(m.name, dataverseId) : null);
  if (link) await state.deleteLink(link);
}
