import { ErrorCodes, isSyncError } from "../errors.js";
import type { AppClient, KeyValues } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import type { WriterContext } from "./dataverseWriter.js";
import { deliverFillIns } from "./fillIns.js";
import { deterministicGuid } from "./ids.js";
import { canonicalToDataverse } from "./values.js";
import { emptyOutcome, failed, flushLinks, pendingLink, recordLink, removeLink, succeeded, type PendingLink, type WriteOutcome } from "./writeOutcome.js";
import type { WriteOp } from "./writeOps.js";

export interface AppWriterContext extends WriterContext {
  app: AppClient;
  /** Parallel requests to the app per message. */
  concurrency: number;
}

/**
 * Writes planned ops to the app through the App Sync API. A record that began in Dataverse is
 * created in the app, then the app's id is written back to the Dataverse key column (the key is
 * the link), then the link is stored.
 */
export async function writeToApp(ctx: AppWriterContext, m: CompiledMapping, ops: WriteOp[]): Promise<WriteOutcome> {
  const out = emptyOutcome();
  // Links of creates and whole-base updates are stored together at the end (one putLinks).
  const batch: PendingLink[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ops.length) {
      const op = ops[next++];
      try {
        await writeOne(ctx, m, op, out, batch);
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
  await flushLinks(ctx.state, "toApp", batch, out, ctx.maxAttempts, ctx.backoffMs);
  // A key write-back changed its row (modifiedon): what Dataverse filled in goes to the app (fillIns.ts).
  if (m.idKeyFields.length) await deliverFillIns(ctx, m, batch.filter((p) => p.kind === "created").map((p) => ({ ...p.op, appId: p.link.appId })), out);
  return out;
}

/**
 * Writes the new app id to the row's key column. The key column is ours: If-Match * (the row must
 * still exist), not the version of the plan.
 *
 * The key can be taken already by our own row for the same app record: while this create was in
 * flight, a re-plan (or a webhook) saw the new app record before its link and created it in
 * Dataverse, with the deterministic id of its app id (decide.ts planCreate). That row duplicates
 * this one: it is deleted (at the version read, so an edit made to it since is not lost silently:
 * the write-back then fails and is retried), and the key is written again. Any other row holding
 * the key is a real clash and fails the record.
 */
async function writeKeyBack(ctx: AppWriterContext, m: CompiledMapping, dataverseId: string, appId: string, keyBody: Record<string, unknown>, out: WriteOutcome): Promise<void> {
  const entitySet = m.mapping.dataverse.entitySet;
  try {
    return await ctx.dataverse.update(entitySet, dataverseId, keyBody);
  } catch (e) {
    // Only a key made of the app id alone names the row that holds it.
    if (!(isSyncError(e) && e.code === ErrorCodes.DuplicateKey) || m.idKeyFields.length !== m.keyFields.length) throw e;
    const key: KeyValues = Object.fromEntries(Object.entries(keyBody).map(([k, v]) => [k, typeof v === "number" ? v : String(v)]));
    const holder = await ctx.dataverse.retrieveByKey(entitySet, key, [m.primaryId]);
    const holderId = holder ? String(holder[m.primaryId]) : undefined;
    if (holderId !== undefined && (holderId === dataverseId || holderId !== deterministicGuid(m.name, entitySet, appId))) throw e;
    if (holderId !== undefined) {
      const etag = holder!["@odata.etag"];
      try {
        await ctx.dataverse.delete(entitySet, holderId, typeof etag === "string" && etag ? { ifMatch: etag } : {});
      } catch (d) {
        if (!(isSyncError(d) && d.code === ErrorCodes.NotFound)) throw d;
      }
      out.notes.push(`${m.name}: Dataverse row ${holderId}, created for app record ${appId} while that record was being created from row ${dataverseId}, was deleted as a duplicate`);
    }
    await ctx.dataverse.update(entitySet, dataverseId, keyBody);
  }
}

async function writeOne(ctx: AppWriterContext, m: CompiledMapping, op: WriteOp, out: WriteOutcome, batch: PendingLink[]): Promise<void> {
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
      // The link is stored before the key is written back, with the key still unsynced in its base: if
      // the write-back fails (or the process dies), the pair is already known, and any later decision
      // of it writes the key (the app's id differs from the base) instead of creating a second row.
      await recordLink(ctx.state, m, created.id, op.dataverseId!, op.base, { appVersion: created.version }, ctx.now());
      try {
        await writeKeyBack(ctx, m, op.dataverseId!, created.id, keyBody, out);
      } catch (e) {
        if (!(isSyncError(e) && e.code === ErrorCodes.NotFound)) throw e;
        // The row was deleted while its app record was being created: decide the pair again, which
        // follows the delete policy for the new app record instead of creating the row again.
        out.notes.push(`${m.name}: Dataverse row ${op.dataverseId} was deleted while its app record ${created.id} was being created`);
        out.retries.push({ ...op, kind: "update", appId: created.id, attempt: op.attempt + 1, refresh: true });
        return;
      }
      batch.push(pendingLink(m, op, "created", created.id, op.dataverseId!, base, { appVersion: created.version }, ctx.now()));
      return;
    }
    case "update": {
      try {
        const res = await ctx.app.update(entity, op.appId!, m.toAppData(op.values), { ifMatch: op.appVersion, dataverseId: op.dataverseId });
        if (op.fullBase) {
          batch.push(pendingLink(m, op, "updated", op.appId!, op.dataverseId!, op.base, { appVersion: res.version, dataverseVersion: op.dataverseVersion }, ctx.now()));
          return;
        }
        await recordLink(ctx.state, m, op.appId!, op.dataverseId!, op.base, { appVersion: res.version }, ctx.now());
        return succeeded(out, "updated", op);
      } catch (e) {
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
