import { ErrorCodes, isSyncError } from "../errors.js";
import type { AppClient, BulkWrite, DataverseClient, Link, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import { deliverFillIns } from "./fillIns.js";
import { hashCanonical } from "./hash.js";
import { memoizeLookups, type LookupResolver } from "./lookups.js";
import { canBatchLink, emptyOutcome, failed, flushLinks, pendingLink, recordLink, redecideRefused, removeLink, succeeded, type PendingLink, type WriteOutcome } from "./writeOutcome.js";
import type { WriteOp } from "./writeOps.js";

/** State (link) writes in flight per write message. */
const LINK_WRITE_CONCURRENCY = 16;

export interface WriterContext {
  dataverse: DataverseClient;
  state: SyncStateStore;
  lookups: LookupResolver;
  /** The app, for the values Dataverse fills in (fillIns.ts); without it they reach the app with the next run. */
  app?: AppClient;
  maxAttempts: number;
  backoffMs: (attempt: number) => number;
  now: () => string;
}

/**
 * Writes planned ops to Dataverse in one bulk call per kind (the client falls back to `$batch` with
 * continue-on-error, so a rejected record is isolated and its neighbours land).
 */
export async function writeToDataverse(ctx: WriterContext, m: CompiledMapping, ops: WriteOp[]): Promise<WriteOutcome> {
  const out = emptyOutcome();
  const writes: BulkWrite[] = [];
  const byRef = new Map<string, WriteOp>();
  const lookups = memoizeLookups(ctx.lookups);
  for (const [i, op] of ops.entries()) {
    const ref = String(i);
    try {
      const write = await toBulkWrite(m, op, ref, lookups);
      writes.push(write);
      byRef.set(ref, op);
    } catch (e) {
      failed(out, "toDataverse", op, e, ctx.maxAttempts, ctx.backoffMs);
    }
  }
  if (!writes.length) return out;
  const intents = await recordCreateIntents(ctx, m, writes, byRef, out);
  if (!intents) return out;
  // The mapping's primary id (activity tables use activityid, not <table>id).
  const results = await ctx.dataverse.writeMany(m.mapping.dataverse.entitySet, m.mapping.dataverse.table, writes, { primaryId: m.primaryId });
  // Each result touches only its own record's link rows, so the state writes run side by side:
  // one after another they, not Dataverse, were what limited a bulk load's throughput.
  // Links of creates and whole-base updates go in one batched putLinks; the rest read and merge.
  const batch: PendingLink[] = [];
  const now = ctx.now();
  const written: WriteOp[] = [];
  let next = 0;
  const worker = async () => {
    while (next < results.length) {
      const result = results[next++];
      const op = byRef.get(result.ref)!;
      if (result.ok && (op.kind === "create" || op.kind === "update")) written.push({ ...op, dataverseId: result.id ?? op.dataverseId });
      try {
        if (result.ok && canBatchLink(op)) {
          const p = pendingLink(m, op, op.kind === "create" ? "created" : "updated", op.appId!, result.id ?? op.dataverseId!, op.base,
            { appVersion: op.appVersion, dataverseVersion: op.kind === "create" ? undefined : op.dataverseVersion }, now);
          if ((op.kind === "create" && claimsCreates(m)) || op.pairedByKey) p.link.claim = true;
          // Its intent stored this pair's pointer moments ago: the link goes alone (Link.pointerWritten).
          if (intents.has(op) && p.link.dataverseId === op.dataverseId) p.link.pointerWritten = true;
          batch.push(p);
        } else if (result.ok) await onSuccess(ctx, m, op, result.id, out);
        else await onFailure(ctx, m, op, result.error, out);
      } catch (e) {
        failed(out, "toDataverse", op, e, ctx.maxAttempts, ctx.backoffMs);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LINK_WRITE_CONCURRENCY, results.length) }, worker));
  await flushLinks(ctx.state, "toDataverse", batch, out, ctx.maxAttempts, ctx.backoffMs, async (p) => {
    if (p.op.kind === "create") await dropDuplicate(ctx, m, p.op, out);
    else redecideRefused(out, "toDataverse", m, p.op, ctx.maxAttempts, ctx.backoffMs);
  });
  // Once the links are stored: values Dataverse filled in during these writes go to the app.
  await deliverFillIns(ctx, m, written, out);
  return out;
}

/**
 * Whether this mapping's creates claim their links (Link.claim). With the app id as the key, a
 * record that began in Dataverse can show up in a plan as a new app record before its link exists
 * (a re-plan, or a webhook, while its app create is in flight: appWriter.ts): its create here is
 * then a second row, which the claim finds out. A natural key pairs such a record by key instead.
 */
const claimsCreates = (m: CompiledMapping) => m.idKeyFields.length > 0 && m.idKeyFields.length === m.keyFields.length;

/**
 * The row this op created (our deterministic id) duplicates a pair another writer made meanwhile:
 * the app record is linked to another row that holds, or is being given, the same key. Ours goes.
 * When that delete fails, the op is retried as the delete of that row, which touches no link.
 */
export async function dropDuplicate(ctx: WriterContext, m: CompiledMapping, op: WriteOp, out: WriteOutcome): Promise<void> {
  const entitySet = m.mapping.dataverse.entitySet;
  try {
    await ctx.dataverse.delete(entitySet, op.dataverseId!);
  } catch (e) {
    if (!(isSyncError(e) && e.code === ErrorCodes.NotFound)) {
      return failed(out, "toDataverse", { ...op, kind: "delete", appId: undefined, values: {}, base: {} }, e, ctx.maxAttempts, ctx.backoffMs);
    }
  }
  out.notes.push(`${m.name}: app record ${op.appId} was linked to another Dataverse row while row ${op.dataverseId} was being created for it; ${op.dataverseId} was deleted as a duplicate`);
  succeeded(out, "skipped", op);
}

async function toBulkWrite(m: CompiledMapping, op: WriteOp, ref: string, lookups: LookupResolver): Promise<BulkWrite> {
  switch (op.kind) {
    case "create": {
      const body = await m.toDataverseBody(op.values, lookups);
      body[m.primaryId] = op.dataverseId;
      return { ref, kind: "create", id: op.dataverseId, body };
    }
    // Updates and deletes apply only to the row version their decision was based on (If-Match): an
    // edit made since then gives CONCURRENCY, and the record is read again and decided again.
    case "update":
      return { ref, kind: "update", id: op.dataverseId, body: await m.toDataverseBody(op.values, lookups), ...rowVersion(op) };
    case "delete":
      return { ref, kind: "delete", id: op.dataverseId, ...rowVersion(op) };
    case "deactivate":
      // statecode alone: Dataverse applies the state's default status reason.
      return { ref, kind: "update", id: op.dataverseId, body: { statecode: 1 }, ...rowVersion(op) };
  }
}

/**
 * With a natural key (the row's key is not the app id), a row we created cannot be traced back to
 * its app record: if the create landed but its link was lost, the next delta would see an unlinked
 * row and create it in the app a second time. So those creates first store a `pendingCreate` link
 * (one batched Table write per message). Returns the ops whose intents were stored, or undefined
 * when that failed (the creates are retried).
 */
async function recordCreateIntents(ctx: WriterContext, m: CompiledMapping, writes: BulkWrite[], byRef: Map<string, WriteOp>, out: WriteOutcome): Promise<Set<WriteOp> | undefined> {
  if (m.idKeyFields.length === m.keyFields.length) return new Set();
  const now = ctx.now();
  const ops = writes.filter((w) => w.kind === "create").map((w) => byRef.get(w.ref)!).filter((op) => op.appId && op.dataverseId);
  if (!ops.length) return new Set();
  try {
    await ctx.state.putLinks(ops.map((op): Link => ({ mapping: m.name, appId: op.appId!, dataverseId: op.dataverseId!, base: {}, hash: "", lastSyncedAt: now, pendingCreate: true })));
    return new Set(ops);
  } catch (e) {
    for (const w of writes) failed(out, "toDataverse", byRef.get(w.ref)!, e, ctx.maxAttempts, ctx.backoffMs);
    return undefined;
  }
}

/** The op's Dataverse row version as If-Match, when the decision was based on one. */
function rowVersion(op: WriteOp): { ifMatch?: string } {
  return op.dataverseVersion ? { ifMatch: op.dataverseVersion } : {};
}

async function onSuccess(ctx: WriterContext, m: CompiledMapping, op: WriteOp, id: string | undefined, out: WriteOutcome): Promise<void> {
  if (op.kind === "delete" || op.kind === "deactivate") {
    await removeLink(ctx.state, m, op.appId, op.dataverseId);
    return succeeded(out, "deleted", op);
  }
  if (!(await recordLink(ctx.state, m, op.appId!, id ?? op.dataverseId!, op.base, { appVersion: op.appVersion }, ctx.now(), { claim: op.pairedByKey }))) {
    return redecideRefused(out, "toDataverse", m, op, ctx.maxAttempts, ctx.backoffMs);
  }
  succeeded(out, op.kind === "create" ? "created" : "updated", op);
}

/**
 * Whether a failed write is read on both sides and decided again (while attempts remain) instead
 * of failing, and when:
 * - CONCURRENCY on an update, delete or deactivation: the row changed after the read the write was
 *   decided on (at once);
 * - DUPLICATE_KEY on a create whose key holder was gone when it was read (onFailure): the key is free (at once);
 * - DUPLICATE_KEY on an update that writes the key while another row holds it for a moment (the
 *   second row of the re-plan race, which its writer or the key write-back deletes): after the
 *   back-off, when the key is usually written and nothing is left to do. A lasting clash fails once
 *   the attempts are spent.
 */
function decideAgain(op: WriteOp, code: string | undefined): "at once" | "after back-off" | undefined {
  if (code === ErrorCodes.Concurrency && op.kind !== "create") return "at once";
  if (code === ErrorCodes.DuplicateKey && op.kind === "create") return "at once";
  if (code === ErrorCodes.DuplicateKey && op.kind === "update") return "after back-off";
  return undefined;
}

async function onFailure(ctx: WriterContext, m: CompiledMapping, op: WriteOp, error: unknown, out: WriteOutcome): Promise<void> {
  const code = isSyncError(error) ? error.code : undefined;
  if (op.kind === "create" && code === ErrorCodes.DuplicateKey) {
    // The row exists already: our own earlier attempt whose answer was lost, or a row with this key.
    const key = m.keyOf(op.base);
    const row = key ? await ctx.dataverse.retrieveByKey(m.mapping.dataverse.entitySet, key, [m.primaryId]) : null;
    if (row && String(row[m.primaryId]) === op.dataverseId && claimsCreates(m)) {
      // Our own row (an earlier attempt whose answer was lost): linked only if nobody else linked the record meanwhile.
      const link: Link = { mapping: m.name, appId: op.appId!, dataverseId: op.dataverseId!, base: {}, hash: hashCanonical({}), lastSyncedAt: ctx.now(), claim: true };
      if ((await ctx.state.putLinks([link])).length) return dropDuplicate(ctx, m, op, out);
      out.notes.push(`${m.name}: app record ${op.appId} matched its existing Dataverse row ${op.dataverseId}; it is compared on the next run`);
      return succeeded(out, "skipped", op);
    }
    if (row) {
      await recordLink(ctx.state, m, op.appId!, String(row[m.primaryId]), {}, { appVersion: op.appVersion }, ctx.now());
      out.notes.push(`${m.name}: app record ${op.appId} matched existing Dataverse row ${String(row[m.primaryId])} by key; it is compared on the next run`);
      return succeeded(out, "skipped", op);
    }
    // No row holds the key any more (a duplicate deleted by another writer): decided again below.
    out.notes.push(`${m.name}: the Dataverse row holding the key of app record ${op.appId} was deleted before it could be read`);
  }
  const again = decideAgain(op, code);
  if (again && op.attempt + 1 < ctx.maxAttempts) {
    out.retries.push({ ...op, attempt: op.attempt + 1, refresh: true });
    if (again === "after back-off") out.retryDelayMs = Math.max(out.retryDelayMs, ctx.backoffMs(op.attempt + 1));
    return;
  }
  if (code === ErrorCodes.NotFound) {
    if (op.kind === "delete" || op.kind === "deactivate") {
      await removeLink(ctx.state, m, op.appId, op.dataverseId);
      return succeeded(out, "deleted", op);
    }
    if (op.kind === "update") {
      // Deleted in Dataverse meanwhile: the delete arrives with the next delta and follows the policy.
      out.notes.push(`${m.name}: Dataverse row ${op.dataverseId} was deleted before it could be updated`);
      return succeeded(out, "skipped", op);
    }
  }
  failed(out, "toDataverse", op, error, ctx.maxAttempts, ctx.backoffMs);
}
