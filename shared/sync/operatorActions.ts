import { ErrorCodes, SyncError } from "../errors.js";
import { TelemetryEvents } from "../names.js";
import type { Canonical, ConflictRecord, DeadLetter, Link } from "../ports.js";
import { pendingIds, type SyncEngine } from "./engine.js";
import { hashCanonical } from "./hash.js";
import { packWriteMessage, type WriteOp } from "./writeOps.js";

/**
 * What an operator does with records that did not sync (the admin routes and the dashboard): retry a
 * pending record now, discard it (audited), or resolve a parked conflict. Each one only prepares
 * state and hands the record to the Dataverse writer as a fresh re-read (`refresh`), so the writes
 * themselves go through the same decision, conditional writes and pending ledger as any run.
 */

export type Take = "app" | "dataverse";
export type Resolution = { take: Take } | { fields: Record<string, Take> };

/** Writes an operator asks for settle like webhook notices: they belong to no run. */
const OPERATOR_RUN_ID = "events";

/** The pending entry id of a mapping and an opaque key (`<direction>|<record id>`, see pendingKey). */
export const pendingId = (mapping: string, key: string): string => `${mapping}|${key}`;
export const pendingKey = (dl: Pick<DeadLetter, "mapping" | "id">): string => dl.id.slice(dl.mapping.length + 1);
export const conflictId = (mapping: string, appId: string): string => `${mapping}|${appId}`;

/** Re-reads the record on both sides now and decides it again; false when no such entry exists. */
export async function retryPending(engine: SyncEngine, mapping: string, key: string): Promise<boolean> {
  const dl = await engine.deps.state.getDeadLetter(pendingId(mapping, key));
  if (!dl || dl.mapping !== mapping) return false;
  const ids = pendingIds(dl);
  if (!ids.appId && !ids.dataverseId) {
    throw new SyncError("validation", ErrorCodes.PendingNotRetryable, `pending record ${key} of ${mapping} names no record to re-read; discard it instead`);
  }
  const others = await siblingEntries(engine, mapping, ids);
  await sendRefresh(engine, mapping, ids, [dl.id, ...others.filter((id) => id !== dl.id)]);
  engine.deps.logger.info("pending record retried by an operator", { mapping, direction: dl.direction, recordId: dl.recordId });
  return true;
}

/**
 * Removes a pending entry for good. The entry as it was (reason, attempts, ids, not its payload) goes
 * to the audit trail: a log line and the `SyncPendingDiscarded` event in Application Insights.
 */
export async function discardPending(engine: SyncEngine, mapping: string, key: string): Promise<DeadLetter | null> {
  const dl = await engine.deps.state.getDeadLetter(pendingId(mapping, key));
  if (!dl || dl.mapping !== mapping) return null;
  await engine.deps.state.deleteDeadLetter(dl.id);
  const audit = {
    mapping, direction: dl.direction, recordId: dl.recordId, appId: dl.appId, dataverseId: dl.dataverseId,
    code: dl.code, attempts: dl.attempts, firstFailedAt: dl.firstFailedAt, lastFailedAt: dl.lastFailedAt,
    discardedAt: new Date(engine.deps.clock.now()).toISOString(),
  };
  engine.deps.telemetry.event(TelemetryEvents.pendingDiscarded, audit);
  engine.deps.logger.warn("pending record discarded by an operator", audit);
  return dl;
}

export async function findConflict(engine: SyncEngine, mapping: string, appId: string): Promise<ConflictRecord | undefined> {
  const open = await engine.deps.state.listConflicts({ mapping, status: "open" });
  return open.find((c) => c.id === conflictId(mapping, appId));
}

/**
 * Resolves a parked conflict: for each conflicting field the side the operator took. The link's base
 * is set to the value of the side not taken, so the fresh re-read that follows sees the field changed
 * on the taken side only and writes that value to the other side; the record's other changes go
 * with it. A side that changed again since the conflict was parked makes a new conflict, never a
 * silent overwrite. Throws a validation error naming fields that are not in the conflict.
 */
export async function resolveConflict(engine: SyncEngine, conflict: ConflictRecord, resolution: Resolution): Promise<void> {
  const choice = choicesOf(conflict, resolution);
  const m = engine.mapping(conflict.mapping);
  const state = engine.deps.state;
  const link = await state.getLinkByApp(conflict.mapping, conflict.appId);
  const base: Canonical = link && !link.pendingCreate ? { ...link.base } : await firstBase(engine, conflict);
  for (const f of conflict.fields) base[f.field] = choice[f.field] === "app" ? f.dataverse : f.app;
  const nowIso = new Date(engine.deps.clock.now()).toISOString();
  const next: Link = {
    ...(link ?? {}), mapping: m.name, appId: conflict.appId, dataverseId: conflict.dataverseId,
    base, hash: hashCanonical(base), lastSyncedAt: link?.lastSyncedAt ?? nowIso, pendingCreate: undefined,
  };
  delete next.pendingCreate;
  await state.putLink(next);
  await state.putConflict({ ...conflict, status: "resolved" });
  const ids = { appId: conflict.appId, dataverseId: conflict.dataverseId };
  await sendRefresh(engine, m.name, ids, await siblingEntries(engine, m.name, ids));
  engine.deps.logger.info("conflict resolved by an operator", { mapping: m.name, appId: conflict.appId, fields: Object.entries(choice).map(([f, s]) => `${f}=${s}`).join(", ") });
}

function choicesOf(conflict: ConflictRecord, resolution: Resolution): Record<string, Take> {
  const names = conflict.fields.map((f) => f.field);
  if ("take" in resolution) return Object.fromEntries(names.map((n) => [n, resolution.take]));
  const unknown = Object.keys(resolution.fields).filter((f) => !names.includes(f));
  const missing = names.filter((n) => !(n in resolution.fields));
  if (unknown.length || missing.length) {
    const parts = [
      ...(unknown.length ? [`not in the conflict: ${unknown.join(", ")}`] : []),
      ...(missing.length ? [`no side chosen for: ${missing.join(", ")}`] : []),
    ];
    throw new SyncError("validation", ErrorCodes.InvalidResolution, `${parts.join("; ")} (the conflict's fields: ${names.join(", ")})`);
  }
  return resolution.fields;
}

/**
 * A conflict met on the first sync has no base: every field the two sides agree on is taken from the
 * app record as it is now (the conflicting ones are set by the caller).
 */
async function firstBase(engine: SyncEngine, conflict: ConflictRecord): Promise<Canonical> {
  const m = engine.mapping(conflict.mapping);
  const app = await engine.deps.app.get(m.mapping.app.entity, conflict.appId);
  return app ? m.appToCanonical(app) : {};
}

/** The record's pending entries in both directions (cleared together once it syncs). */
async function siblingEntries(engine: SyncEngine, mapping: string, ids: { appId?: string; dataverseId?: string }): Promise<string[]> {
  const candidates = [
    ...(ids.appId ? [`${mapping}|toDataverse|${ids.appId}`] : []),
    ...(ids.dataverseId ? [`${mapping}|toApp|${ids.dataverseId}`] : []),
  ];
  const found = await Promise.all(candidates.map((id) => engine.deps.state.getDeadLetter(id)));
  return candidates.filter((_, i) => found[i] !== null);
}

async function sendRefresh(engine: SyncEngine, mapping: string, ids: { appId?: string; dataverseId?: string }, clearDeadLetters: string[]): Promise<void> {
  // The last attempt: a failure goes straight back to the ledger instead of a chain of queue retries.
  const op: WriteOp = { kind: "update", refresh: true, ...ids, values: {}, base: {}, attempt: Math.max(0, engine.deps.config.options.maxAttempts - 1), clearDeadLetters };
  const message = packWriteMessage({ runId: OPERATOR_RUN_ID, mapping, direction: "toDataverse" }, [op]);
  if (!message) throw new SyncError("permanent", ErrorCodes.PayloadTooLarge, `the re-read of a ${mapping} record does not fit a queue message`);
  await engine.deps.queues.dataverseWrites.send(message);
}
