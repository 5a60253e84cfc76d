import type { SyncOptions } from "../config/mapping.js";
import { ErrorCodes } from "../errors.js";
import type { AppClient, DataverseClient, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import { decidePair, emptyDecisions, type DecideContext, type Decisions, type Pair } from "./decide.js";
import { LinkIndex } from "./linkIndex.js";
import { readAppChanges, readDataverseChanges } from "./readChanges.js";

export interface PlanDeps {
  dataverse: DataverseClient;
  app: AppClient;
  state: SyncStateStore;
}

export interface RunPlan extends Decisions {
  /** Cursors to store once the writes are durably handed off. */
  cursors: { dataverse?: string; app?: string };
  notes: string[];
  /** Deletes stopped by the breaker (also in `failures` with MASS_DELETE_BLOCKED). */
  blockedDeletes: number;
  reads: { dataverse: number; app: number };
}

/** Above this many changed records a run loads all links once instead of reading them one by one. */
const PRELOAD_THRESHOLD = 200;

/**
 * Plans one run of one mapping: reads both change feeds, pairs records through the link map (or by
 * key on first sync), decides writes per record, and applies the mass-delete breaker.
 */
export async function planRun(deps: PlanDeps, ctx: DecideContext, full: boolean, options: SyncOptions): Promise<RunPlan> {
  const m = ctx.mapping;
  const [dvCursor, appCursor] = full ? [null, null] : await Promise.all([deps.state.getCursor(m.name, "dataverse"), deps.state.getCursor(m.name, "app")]);
  const dv = await readDataverseChanges(deps.dataverse, m, dvCursor, full);
  const app = await readAppChanges(deps.app, m, appCursor, full);
  const plan: RunPlan = {
    ...emptyDecisions(), cursors: { dataverse: dv.deltaLink, app: app.cursor }, notes: dv.note ? [dv.note] : [],
    blockedDeletes: 0, reads: { dataverse: dv.rows.length + dv.deleted.length, app: app.records.length },
  };

  const changed = dv.rows.length + dv.deleted.length + app.records.length;
  const links = await LinkIndex.open(deps.state, m.name, dv.complete || app.complete || changed > PRELOAD_THRESHOLD);
  const pairs = new Map<string, Pair>();
  const pairFor = (key: string) => pairs.get(key) ?? pairs.set(key, {}).get(key)!;

  for (const r of app.records) {
    const link = await links.byAppId(r.id);
    const p = pairFor(link ? `L:${link.appId}` : `A:${r.id}`);
    p.link = link ?? undefined;
    if (r.deleted) p.appGone = true;
    else p.app = r;
  }
  for (const row of dv.rows) {
    const id = String(row[m.primaryId]);
    const link = await links.byDataverseId(id);
    const p = pairFor(link ? `L:${link.appId}` : `D:${id}`);
    p.link = link ?? undefined;
    p.dv = row;
  }
  for (const id of dv.deleted) {
    const link = await links.byDataverseId(id);
    if (link) Object.assign(pairFor(`L:${link.appId}`), { link, dvGone: true });
  }
  // A complete read proves absence: a linked record missing from it was deleted (e.g. during an expired-token gap).
  if (dv.complete || app.complete) {
    const seenDv = new Set(dv.rows.map((r) => String(r[m.primaryId])));
    const seenApp = new Set(app.records.map((r) => r.id));
    for (const link of links.all()) {
      const goneDv = dv.complete && !seenDv.has(link.dataverseId);
      const goneApp = app.complete && !seenApp.has(link.appId);
      if (!goneDv && !goneApp) continue;
      const p = pairFor(`L:${link.appId}`);
      p.link = link;
      if (goneDv) p.dvGone = true;
      if (goneApp) p.appGone = true;
    }
  }
  await matchByKey(deps, ctx, pairs, { dvComplete: dv.complete, appComplete: app.complete });

  for (const pair of pairs.values()) await decidePair(ctx, pair, plan);
  await applyDeleteBreaker(plan, links, options, m.name);
  return plan;
}

/**
 * First-sync matching: an unlinked app record and an unlinked Dataverse row with the same key value
 * are one record. When a feed was a delta, the other side is looked up directly.
 */
async function matchByKey(deps: PlanDeps, ctx: DecideContext, pairs: Map<string, Pair>, complete: { dvComplete: boolean; appComplete: boolean }): Promise<void> {
  const m = ctx.mapping;
  const keyOfApp = (p: Pair) => { try { return p.app ? m.keyString(m.appToCanonical(p.app)) : null; } catch { return null; } };
  const dvByKey = new Map<string, string>();
  for (const [k, p] of pairs) {
    if (!k.startsWith("D:") || !p.dv) continue;
    const key = m.keyStringOfRow(p.dv);
    if (key) dvByKey.set(key, k);
  }
  for (const [k, p] of [...pairs]) {
    if (!k.startsWith("A:") || !p.app) continue;
    const key = keyOfApp(p);
    if (!key) continue;
    const dvKey = dvByKey.get(key);
    if (dvKey) {
      p.dv = pairs.get(dvKey)!.dv;
      pairs.delete(dvKey);
      dvByKey.delete(key);
    } else if (!complete.dvComplete) {
      const row = await deps.dataverse.retrieveByKey(m.mapping.dataverse.entitySet, m.keyOf(m.appToCanonical(p.app))!, m.select);
      if (row) {
        const link = await deps.state.getLinkByDataverse(m.name, String(row[m.primaryId]));
        if (link) p.link = link;
        p.dv = row;
      }
    }
  }
  if (complete.appComplete) return;
  // Dataverse rows whose key is the app id of a record the app did not report: read it directly.
  const idKey = m.idKeyFields.length === 1 && m.keyFields.length === 1 ? m.idKeyFields[0] : undefined;
  if (!idKey) return;
  for (const [k, p] of [...pairs]) {
    if (!k.startsWith("D:") || !p.dv) continue;
    const appId = p.dv[idKey.dataverse];
    if (typeof appId !== "string" || !appId) continue;
    const record = await deps.app.get(m.mapping.app.entity, appId);
    if (!record) continue;
    const link = await deps.state.getLinkByApp(m.name, appId);
    if (link) p.link = link;
    p.app = record;
  }
}

async function applyDeleteBreaker(plan: RunPlan, links: LinkIndex, options: SyncOptions, mapping: string): Promise<void> {
  const deletes = plan.deletes;
  plan.deletes = [];
  if (!deletes.length) return;
  const linked = deletes.length >= options.massDeleteMinimum ? await links.count() : Number.POSITIVE_INFINITY;
  const share = deletes.length / Math.max(linked, 1);
  if (deletes.length >= options.massDeleteMinimum && share > options.massDeleteShare) {
    const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
    plan.notes.push(`mass-delete breaker: ${deletes.length} of ${linked} linked records (${pct(share)}) would be deleted in ${mapping}; ` +
      `the limit is ${pct(options.massDeleteShare)}, so no delete was made. The deletes are in the dead letters (${ErrorCodes.MassDeleteBlocked}) for review and replay.`);
    plan.blockedDeletes = deletes.length;
    for (const { direction, op } of deletes) {
      plan.failures.push({
        direction, recordId: direction === "toDataverse" ? op.appId! : op.dataverseId!, code: ErrorCodes.MassDeleteBlocked,
        message: `delete held back by the mass-delete breaker (${deletes.length} deletes, ${pct(share)} of linked records)`,
        retryable: false, payload: { direction, op },
      });
    }
    return;
  }
  for (const { direction, op } of deletes) (direction === "toDataverse" ? plan.toDataverse : plan.toApp).push(op);
}
