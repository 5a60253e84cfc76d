import { mapLimited } from "../mapLimited.js";
import { ErrorCodes, SyncError, isSyncError } from "../errors.js";
import type { AppClient, BulkResult, KeyValues } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import type { WriterContext } from "./dataverseWriter.js";
import { deliverFillIns } from "./fillIns.js";
import { deterministicGuid } from "./ids.js";
import { canonicalToDataverse } from "./values.js";
import { emptyOutcome, failed, flushLinks, pendingLink, recordLink, redecideRefused, removeLink, succeeded, type PendingLink, type WriteOutcome } from "./writeOutcome.js";
import type { WriteOp } from "./writeOps.js";

export interface AppWriterContext extends WriterContext {
  app: AppClient;
  /** Parallel requests to the app per message. */
  concurrency: number;
}

/**
 * Writes planned ops to the app through the App Sync API, `ctx.concurrency` at a time (the API has
 * no batch write; the app client paces them after a 429, appWritePacer.ts). A record that began in
 * Dataverse is created in the app; once the message's app writes are done, the new app ids are
 * written back to their rows' key columns together (the key is the link, writeKeysBack), then the
 * links are stored.
 */
export async function writeToApp(ctx: AppWriterContext, m: CompiledMapping, ops: WriteOp[]): Promise<WriteOutcome> {
  const out = emptyOutcome();
  // Links of creates and whole-base updates are stored together at the end (one putLinks).
  const batch: PendingLink[] = [];
  // App records created from Dataverse rows whose key column still needs the new app id.
  const keyBacks: KeyBack[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ops.length) {
      const op = ops[next++];
      try {
        await writeOne(ctx, m, op, out, batch, keyBacks);
      } catch (e) {
        if (isSyncError(e) && e.code === ErrorCodes.Concurrency && op.kind === "update" && op.attempt + 1 < ctx.maxAttempts) {
          // The app record changed after we read it: re-read both sides and decide again.
          out.retries.push({ ...op, attempt: op.attempt + 1, refresh: true });
          continue;
        }
        failed(out, "toApp", op, e, ctx.maxAttempts, ctx.backoffMs);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.concurrency, ops.length) }, worker));
  if (keyBacks.length) await writeKeysBack(ctx, m, keyBacks, out, batch);
  await flushLinks(ctx.state, "toApp", batch, out, ctx.maxAttempts, ctx.backoffMs, async (p) => redecideRefused(out, "toApp", m, p.op, ctx.maxAttempts, ctx.backoffMs));
  // A key write-back changed its row (modifiedon): what Dataverse filled in goes to the app (fillIns.ts).
  if (m.idKeyFields.length) await deliverFillIns(ctx, m, batch.filter((p) => p.kind === "created").map((p) => ({ ...p.op, appId: p.link.appId })), out);
  return out;
}

/** An app record just created from a Dataverse row, and the key its row is to get. */
interface KeyBack {
  op: WriteOp;
  appId: string;
  appVersion: string;
  /** The key columns with the new app id. */
  keyBody: Record<string, unknown>;
  /** The link's base once the key is written: the op's, with the app id. */
  base: WriteOp["base"];
}

/**
 * Writes the new app ids of a message's creates to their rows' key columns: the key is the link.
 *
 * First the links are stored, with the key still unsynced in their base (one batched putLinks, each
 * link a claim): if the write-back fails, or the process dies before or during it, each pair is
 * already known, and any later decision of it writes the key (the app's id differs from the base)
 * instead of creating a second row. A claim refused because the app record was linked to another
 * row meanwhile is stored the way a single link is (recordLink), as before batching.
 *
 * Then the keys: one PATCH for a single row; for more, `writeMany` updates without a row version
 * (UpdateMultiple, through the shared throttle budget; on a failed bulk call it resends the rows as
 * a continue-on-error `$batch` with `If-Match: *`, so each row gets its own answer). The key column
 * is ours: no version of the plan, only "the row must still exist" (a row deleted meanwhile fails the
 * bulk call, and alone in the `$batch`). A row whose key is taken is resolved alone (resolveDuplicateKey).
 */
async function writeKeysBack(ctx: AppWriterContext, m: CompiledMapping, keyBacks: KeyBack[], out: WriteOutcome, batch: PendingLink[]): Promise<void> {
  const entitySet = m.mapping.dataverse.entitySet;
  let linked: KeyBack[];
  try {
    linked = await linkBeforeKeyBack(ctx, m, keyBacks, out);
  } catch (e) {
    for (const k of keyBacks) failed(out, "toApp", k.op, e, ctx.maxAttempts, ctx.backoffMs);
    return;
  }
  const settle = async (k: KeyBack, write: () => Promise<void>) => {
    try {
      await write();
      const p = pendingLink(m, k.op, "created", k.appId, k.op.dataverseId!, k.base, { appVersion: k.appVersion }, ctx.now());
      // linkBeforeKeyBack stored this pair, pointer first: the link's new base goes alone.
      p.link.pointerWritten = true;
      batch.push(p);
    } catch (e) {
      if (!(isSyncError(e) && e.code === ErrorCodes.NotFound)) return failed(out, "toApp", k.op, e, ctx.maxAttempts, ctx.backoffMs);
      // The row was deleted while its app record was being created: decide the pair again, which
      // follows the delete policy for the new app record instead of creating the row again.
      out.notes.push(`${m.name}: Dataverse row ${k.op.dataverseId} was deleted while its app record ${k.appId} was being created`);
      out.retries.push({ ...k.op, kind: "update", appId: k.appId, attempt: k.op.attempt + 1, refresh: true });
    }
  };
  const writeKey = (k: KeyBack) => ctx.dataverse.update(entitySet, k.op.dataverseId!, k.keyBody);
  const onDuplicate = (k: KeyBack) => async (e: unknown) => {
    if (!(isSyncError(e) && e.code === ErrorCodes.DuplicateKey)) throw e;
    await resolveDuplicateKey(ctx, m, k, e, out);
  };
  if (linked.length === 1) {
    const [k] = linked;
    return settle(k, () => writeKey(k).catch(onDuplicate(k)));
  }
  let results: BulkResult[];
  try {
    results = await ctx.dataverse.writeMany(entitySet, m.mapping.dataverse.table, linked.map((k, i) => ({ ref: String(i), kind: "update", id: k.op.dataverseId!, body: k.keyBody })), { primaryId: m.primaryId });
  } catch (e) {
    for (const k of linked) failed(out, "toApp", k.op, e, ctx.maxAttempts, ctx.backoffMs);
    return;
  }
  // Taken keys are rare (a re-plan raced the create): resolved one by one, a few side by side.
  await mapLimited(linked.map((k, i) => [k, results[i]] as const), DUPLICATE_CONCURRENCY, ([k, r]) => settle(k, async () => {
    if (!r.ok) await onDuplicate(k)(r.error);
  }));
}

/** Rows whose taken key is resolved side by side (each costs a read, maybe a delete, and a write). */
const DUPLICATE_CONCURRENCY = 4;

/** Stores the links of `keyBacks` before their keys are written; returns the ones stored (others failed in `out`). */
async function linkBeforeKeyBack(ctx: AppWriterContext, m: CompiledMapping, keyBacks: KeyBack[], out: WriteOutcome): Promise<KeyBack[]> {
  const claims = keyBacks.map((k) => ({ ...pendingLink(m, k.op, "created", k.appId, k.op.dataverseId!, k.op.base, { appVersion: k.appVersion }, ctx.now()).link, claim: true }));
  const refused = new Set((await ctx.state.putLinks(claims)).map((l) => l.appId));
  const linked: KeyBack[] = [];
  for (const k of keyBacks) {
    try {
      if (refused.has(k.appId)) await recordLink(ctx.state, m, k.appId, k.op.dataverseId!, k.op.base, { appVersion: k.appVersion }, ctx.now());
      linked.push(k);
    } catch (e) {
      failed(out, "toApp", k.op, e, ctx.maxAttempts, ctx.backoffMs);
    }
  }
  return linked;
}

/**
 * The key of `k` is taken already. It can be taken by our own row for the same app record: while
 * this create was in flight, a re-plan (or a webhook) saw the new app record before its link and
 * created it in Dataverse, with the deterministic id of its app id (decide.ts planCreate). That row
 * duplicates this one: it is deleted (at the version read, so an edit made to it since is not lost
 * silently: the write-back then fails and is retried), and the key is written again. The row itself
 * holding the key by now is a second writer of the same create (a message delivered again) that
 * resolved it first: done. Any other row holding the key is a real clash and fails the record with `error`.
 */
async function resolveDuplicateKey(ctx: AppWriterContext, m: CompiledMapping, k: KeyBack, error: SyncError, out: WriteOutcome): Promise<void> {
  const entitySet = m.mapping.dataverse.entitySet;
  const dataverseId = k.op.dataverseId!;
  // Only a key made of the app id alone names the row that holds it.
  if (m.idKeyFields.length !== m.keyFields.length) throw error;
  const key: KeyValues = Object.fromEntries(Object.entries(k.keyBody).map(([c, v]) => [c, typeof v === "number" ? v : String(v)]));
  const holder = await ctx.dataverse.retrieveByKey(entitySet, key, [m.primaryId]);
  const holderId = holder ? String(holder[m.primaryId]) : undefined;
  if (holderId === dataverseId) return;
  if (holderId !== undefined && holderId !== deterministicGuid(m.name, entitySet, k.appId)) throw error;
  if (holderId !== undefined) {
    const etag = holder!["@odata.etag"];
    try {
      await ctx.dataverse.delete(entitySet, holderId, typeof etag === "string" && etag ? { ifMatch: etag } : {});
    } catch (d) {
      if (!(isSyncError(d) && d.code === ErrorCodes.NotFound)) throw d;
    }
    out.notes.push(`${m.name}: Dataverse row ${holderId}, created for app record ${k.appId} while that record was being created from row ${dataverseId}, was deleted as a duplicate`);
  }
  try {
    await ctx.dataverse.update(entitySet, dataverseId, k.keyBody);
  } catch (e) {
    if (!(isSyncError(e) && e.code === ErrorCodes.DuplicateKey)) throw e;
    // Taken again between the read and this write (a second row made by a writer still racing): tried again, as a transient fault.
    throw new SyncError("transient", ErrorCodes.DuplicateKey, `the key of app record ${k.appId} was taken again while it was being written to row ${dataverseId}: ${e.message}`, { cause: e });
  }
}

async function writeOne(ctx: AppWriterContext, m: CompiledMapping, op: WriteOp, out: WriteOutcome, batch: PendingLink[], keyBacks: KeyBack[]): Promise<void> {
  const entity = m.mapping.app.entity;
  switch (op.kind) {
    case "create": {
      // POST is idempotent on dataverseId: a retry after a lost answer or a crash gets the same record.
      const created = await ctx.app.create(entity, m.toAppData(op.values), op.dataverseId);
      const keyBody: Record<string, unknown> = {};
      const base = { ...op.base };
      for (const f of m.idKeyFields) {
        keyBody[f.dataverse] = canonicalToDataverse(f, created.id);
        base[f.app] = created.id;
      }
      if (!Object.keys(keyBody).length) {
        // A new app record has no link yet: nothing to merge with.
        batch.push(pendingLink(m, op, "created", created.id, op.dataverseId!, base, { appVersion: created.version }, ctx.now()));
        return;
      }
      // The message's key write-backs go out together once its app writes are done (writeKeysBack).
      keyBacks.push({ op, appId: created.id, appVersion: created.version, keyBody, base });
      return;
    }
    case "update": {
      try {
        const res = await ctx.app.update(entity, op.appId!, m.toAppData(op.values), { ifMatch: op.appVersion, dataverseId: op.dataverseId });
        if (op.fullBase) {
          const p = pendingLink(m, op, "updated", op.appId!, op.dataverseId!, op.base, { appVersion: res.version, dataverseVersion: op.dataverseVersion }, ctx.now());
          if (op.pairedByKey) p.link.claim = true;
          batch.push(p);
          return;
        }
        if (!(await recordLink(ctx.state, m, op.appId!, op.dataverseId!, op.base, { appVersion: res.version }, ctx.now(), { claim: op.pairedByKey }))) {
          return redecideRefused(out, "toApp", m, op, ctx.maxAttempts, ctx.backoffMs);
        }
        return succeeded(out, "updated", op);
      } catch (e) {
        // Decided without reading the app record, which is gone now: read and decide again (delete policy).
        if (isSyncError(e) && e.code === ErrorCodes.NotFound && op.appUnread) return void out.retries.push({ ...op, appUnread: undefined, attempt: op.attempt + 1, refresh: true });
        if (isSyncError(e) && e.code === ErrorCodes.NotFound) {
          out.notes.push(`${m.name}: app record ${op.appId} was deleted before it could be updated`);
          return succeeded(out, "skipped", op);
        }
        throw e;
      }
    }
    case "delete": {
      await ctx.app.delete(entity, op.appId!);
      await removeLink(ctx.state, m, op.appId, op.dataverseId);
      return succeeded(out, "deleted", op);
    }
    case "deactivate": {
      const inactive = m.mapping.app.inactiveField!;
      try {
        const res = await ctx.app.update(entity, op.appId!, { [inactive.field]: inactive.value }, { dataverseId: op.dataverseId });
        // The link stays as a tombstone: without it our own write comes back in the app's feed as an
        // unlinked record and would be created in Dataverse again (decide.ts skips it while inactive).
        await recordLink(ctx.state, m, op.appId!, op.dataverseId!, {}, { appVersion: res.version }, ctx.now());
      } catch (e) {
        if (!(isSyncError(e) && e.code === ErrorCodes.NotFound)) throw e;
        await removeLink(ctx.state, m, op.appId, op.dataverseId);
      }
      return succeeded(out, "deleted", op);
    }
  }
}
