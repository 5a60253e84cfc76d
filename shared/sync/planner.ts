import type { SyncOptions } from "../config/mapping.js";
import { checkGuid, checkName } from "../dataverse/odataUrl.js";
import { ErrorCodes } from "../errors.js";
import type { AppClient, DataverseClient, DataverseRow, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import { decidePair, emptyDecisions, isEchoRow, type DecideContext, type Decisions, type Pair } from "./decide.js";
import type { IdSet } from "./idSet.js";
import { LinkIndex } from "./linkIndex.js";
import { readDataverseChanges } from "./readChanges.js";
import type { WriteOp } from "./writeOps.js";

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

/** Above this many changed Dataverse rows a run loads all links once instead of reading them one by one. */
const PRELOAD_THRESHOLD = 200;
/** Records per page of the app's change feed. */
const APP_PAGE = 1000;

/** Receives decided writes as soon as a page is decided (the engine enqueues them). */
export type PlanSink = (direction: "toDataverse" | "toApp", ops: WriteOp[]) => Promise<void>;

/**
 * Plans one run of one mapping: reads the Dataverse changes, then streams the app's change feed page
 * by page, pairing records through the link map (or by key on first sync) and deciding each record
 * as its page arrives; Dataverse rows no app record claimed are decided last, then the mass-delete
 * breaker looks at all deletes. With a `sink`, writes leave page by page, so a large load never holds
 * all its writes (nor all app records) in memory; without one (dry runs) they stay in the plan.
 */
export async function planRun(deps: PlanDeps, ctx: DecideContext, full: boolean, options: SyncOptions, sink?: PlanSink): Promise<RunPlan> {
  const m = ctx.mapping;
  const [dvCursor, appCursor] = full ? [null, null] : await Promise.all([deps.state.getCursor(m.name, "dataverse"), deps.state.getCursor(m.name, "app")]);
  const dv = await readDataverseChanges(deps.dataverse, m, dvCursor, full, (row) => isEchoRow(ctx, row));
  const appComplete = full || !appCursor;
  const plan: RunPlan = {
    ...emptyDecisions(), cursors: { dataverse: dv.deltaLink, app: appComplete ? undefined : appCursor?.value }, notes: dv.note ? [dv.note] : [],
    blockedDeletes: 0, reads: { dataverse: dv.rows.length + dv.echoes.size + dv.deleted.length, app: 0 },
  };
  const flush = async () => {
    if (!sink) return;
    if (plan.toDataverse.length) await sink("toDataverse", plan.toDataverse.splice(0));
    if (plan.toApp.length) await sink("toApp", plan.toApp.splice(0));
  };

  const links = await LinkIndex.open(deps.state, m.name, dv.complete || appComplete || dv.rows.length + dv.deleted.length > PRELOAD_THRESHOLD);
  // Echoes of our own writes that are linked are skips; the others (a write whose link was lost) are planned.
  const echoes = await settleEchoes(deps, m, links, dv.echoes);
  plan.skipped.toApp += echoes.linked;
  dv.rows.push(...echoes.unlinkedRows);
  // Dataverse side first: its pairs wait here until an app record claims them or the feed ends.
  const pairs = new Map<string, Pair>();
  const pairFor = (key: string) => pairs.get(key) ?? pairs.set(key, {}).get(key)!;
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
  const dvByKey = new Map<string, string>();
  for (const [k, p] of pairs) {
    const key = k.startsWith("D:") && p.dv ? m.keyStringOfRow(p.dv) : null;
    if (key) dvByKey.set(key, k);
  }
  // A complete read proves absence: a linked record missing from it was deleted (e.g. in an expired-token gap).
  const anyLinks = !links.loaded || links.all().length > 0;
  const seenDv = dv.complete && anyLinks ? dv.seen : undefined;
  const seenApp = appComplete && anyLinks ? new Set<string>() : undefined;
  /** Linked records already decided with their app record (only tracked when a complete read can prove absence). */
  const decidedWithApp = new Set<string>();

  for await (const page of deps.app.changes(m.mapping.app.entity, appComplete ? undefined : appCursor?.value, APP_PAGE)) {
    const pagePairs: Pair[] = [];
    for (const r of page.records) {
      seenApp?.add(r.id);
      const link = await links.byAppId(r.id);
      const claimed = link ? pairs.get(`L:${link.appId}`) : undefined;
      if (claimed) pairs.delete(`L:${link!.appId}`);
      const p: Pair = claimed ?? { link: link ?? undefined };
      if (r.deleted) p.appGone = true;
      else p.app = r;
      if (link && seenDv && !seenDv.has(link.dataverseId)) p.dvGone = true;
      if (link && (seenDv || seenApp)) decidedWithApp.add(link.appId);
      pagePairs.push(p);
    }
    plan.reads.app += page.records.length;
    for (const p of pagePairs) {
      if (!p.link && p.app) await matchAppByKey(deps, ctx, p, pairs, dvByKey, dv.complete);
      await decidePair(ctx, p, plan);
    }
    plan.cursors.app = page.nextCursor;
    await flush();
  }

  for (const link of seenDv || seenApp ? links.all() : []) {
    if (decidedWithApp.has(link.appId)) continue;
    const goneDv = !!seenDv && !seenDv.has(link.dataverseId);
    const goneApp = !!seenApp && !seenApp.has(link.appId);
    if (!goneDv && !goneApp) continue;
    const p = pairFor(`L:${link.appId}`);
    p.link = link;
    if (goneDv) p.dvGone = true;
    if (goneApp) p.appGone = true;
  }
  if (!appComplete) await claimByAppId(deps, ctx, pairs);
  for (const pair of pairs.values()) await decidePair(ctx, pair, plan);
  await flush();
  await applyDeleteBreaker(plan, links, options, m.name);
  await flush();
  return plan;
}

/** Unlinked echoes are read again this many to a request (`<id> eq … or …`: about 2.5 KB of URL). */
const REREAD_CHUNK = 50;

/**
 * Checks the rows set aside as echoes against the links, without holding the links when there are
 * many: a scan ticks them off. Linked echoes are counted (skipped); the rest (writes whose link was
 * lost) are read again, REREAD_CHUNK to a request, and planned like any change.
 */
async function settleEchoes(deps: PlanDeps, m: CompiledMapping, links: LinkIndex, echoes: IdSet): Promise<{ linked: number; unlinkedRows: DataverseRow[] }> {
  const total = echoes.size;
  if (!total) return { linked: 0, unlinkedRows: [] };
  if (links.loaded || total <= PRELOAD_THRESHOLD) {
    for (const id of [...echoes]) if (await links.byDataverseId(id)) echoes.delete(id);
  } else {
    for await (const link of deps.state.listLinks(m.name)) echoes.delete(link.dataverseId);
  }
  const unlinked = [...echoes];
  const unlinkedRows: DataverseRow[] = [];
  for (let i = 0; i < unlinked.length; i += REREAD_CHUNK) {
    const filter = unlinked.slice(i, i + REREAD_CHUNK).map((id) => `${checkName(m.primaryId, "column")} eq ${checkGuid(id)}`).join(" or ");
    for await (const rows of deps.dataverse.query(m.mapping.dataverse.entitySet, { select: m.select, filter })) unlinkedRows.push(...rows);
  }
  return { linked: total - unlinked.length, unlinkedRows };
}

/**
 * First-sync matching for one unlinked app record: an unlinked Dataverse row with the same key value
 * is the same record. When the Dataverse feed was a delta, the row is looked up directly.
 */
async function matchAppByKey(deps: PlanDeps, ctx: DecideContext, p: Pair, pairs: Map<string, Pair>, dvByKey: Map<string, string>, dvComplete: boolean): Promise<void> {
  const m = ctx.mapping;
  let values;
  try {
    values = m.appToCanonical(p.app!);
  } catch {
    return; // reported when the pair is decided
  }
  const key = m.keyString(values);
  if (!key) return;
  const dvKey = dvByKey.get(key);
  if (dvKey) {
    p.dv = pairs.get(dvKey)?.dv;
    pairs.delete(dvKey);
    dvByKey.delete(key);
  } else if (!dvComplete) {
    const row = await deps.dataverse.retrieveByKey(m.mapping.dataverse.entitySet, m.keyOf(values)!, m.select);
    if (row) {
      const link = await deps.state.getLinkByDataverse(m.name, String(row[m.primaryId]));
      if (link) p.link = link;
      p.dv = row;
    }
  }
}

/** Dataverse rows whose key is the app id of a record the app's delta did not report: read it directly. */
async function claimByAppId(deps: PlanDeps, ctx: DecideContext, pairs: Map<string, Pair>): Promise<void> {
  const m = ctx.mapping;
  const idKey = m.idKeyFields.length === 1 && m.keyFields.length === 1 ? m.idKeyFields[0] : undefined;
  if (!idKey) return;
  for (const [k, p] of pairs) {
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
