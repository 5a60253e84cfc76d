import { errorMessage, ErrorCodes, isSyncError } from "../errors.js";
import type { AppClient, DataverseRow, Link, SyncStateStore } from "../ports.js";
import { pick, type CompiledMapping } from "./compiledMapping.js";
import { hashCanonical } from "./hash.js";
import type { LookupResolver } from "./lookups.js";
import { readRowsById, type PlanDeps } from "./planner.js";
import { canonicalEquals } from "./values.js";
import type { WriteOp } from "./writeOps.js";
import type { WriteOutcome } from "./writeOutcome.js";

/** App updates in flight per write message. */
const FILL_IN_CONCURRENCY = 8;

export interface FillInContext {
  dataverse: PlanDeps["dataverse"];
  state: SyncStateStore;
  lookups: LookupResolver;
  /** Without the app, the values reach it with the next run (decided as a change). */
  app?: AppClient;
  now: () => string;
}

/**
 * Values Dataverse fills in while we write a row (its primary id, createdon, modifiedon, a column a
 * plug-in sets) that a `to-app` field maps: read back once the write and its link have landed, sent
 * to the app, and added to the link's base. The write's echo in the next delta then hashes like its
 * link and is skipped: the values are part of our own write, not a change made elsewhere.
 *
 * Nothing here is needed for correctness: when any step does not happen (a crash, the app refusing,
 * a lost race), the link keeps the base without these values, so the row's next delta entry differs
 * from it and the run decides the row like any change, which delivers them. That is why a failure
 * here fails no record: it leaves a note.
 */
export async function deliverFillIns(ctx: FillInContext, m: CompiledMapping, ops: WriteOp[], out: WriteOutcome): Promise<void> {
  const toApp = m.mergeFields.filter((f) => f.direction === "to-app").map((f) => f.name);
  const written = ops.filter((op) => op.appId && op.dataverseId);
  if (!ctx.app || !toApp.length || !written.length) return;
  let rows: DataverseRow[];
  try {
    rows = await readRowsById({ dataverse: ctx.dataverse }, m, [...new Set(written.map((op) => op.dataverseId!))]);
  } catch (e) {
    out.notes.push(`${m.name}: could not read ${written.length} written row(s) back (${errorMessage(e)}); the values Dataverse filled in reach the app with the next run`);
    return;
  }
  const byId = new Map(rows.map((row) => [String(row[m.primaryId]), row]));
  let next = 0;
  const worker = async () => {
    while (next < written.length) {
      const op = written[next++];
      const row = byId.get(op.dataverseId!);
      if (!row) continue; // deleted meanwhile: the delete arrives with the next delta
      try {
        await deliverOne(ctx, m, op.appId!, row, toApp);
      } catch (e) {
        out.notes.push(`${m.name}: the values Dataverse filled in for row ${op.dataverseId} did not reach app record ${op.appId} yet (${errorMessage(e)}); the next run delivers them`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILL_IN_CONCURRENCY, written.length) }, worker));
}

async function deliverOne(ctx: FillInContext, m: CompiledMapping, appId: string, row: DataverseRow, toApp: string[]): Promise<void> {
  const dataverseId = String(row[m.primaryId]);
  const link = await ctx.state.getLinkByApp(m.name, appId);
  // Only for the pairing this write made: not an intent, not a row another writer linked meanwhile.
  if (!link || link.pendingCreate || link.dataverseId !== dataverseId) return;
  const values = pick(await m.dataverseToCanonical(row, ctx.lookups), toApp);
  const fills = Object.fromEntries(Object.entries(values).filter(([name, v]) => !canonicalEquals(v, link.base[name] ?? null)));
  if (!Object.keys(fills).length) return;
  let version: string;
  try {
    // Conditional on the app version the link knows: an app edit made since is decided first.
    version = (await ctx.app!.update(m.mapping.app.entity, appId, m.toAppData(fills), { ifMatch: link.appVersion, dataverseId })).version;
  } catch (e) {
    if (isSyncError(e) && (e.code === ErrorCodes.Concurrency || e.code === ErrorCodes.NotFound)) return; // decided by the next run
    throw e;
  }
  const base = { ...link.base, ...fills };
  const updated: Link = { ...link, base, hash: hashCanonical(base), appVersion: version, lastSyncedAt: ctx.now() };
  try {
    await ctx.state.putLink(updated);
  } catch (e) {
    // A link moved meanwhile: the app holds the values, so the next run finds them equal and links them.
    if (!(isSyncError(e) && e.code === ErrorCodes.Concurrency)) throw e;
  }
}
