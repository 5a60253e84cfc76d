import type { SyncOptions } from "../config/mapping.js";
import { checkGuid, checkName } from "../dataverse/odataUrl.js";
import { ErrorCodes } from "../errors.js";
import type { AppClient, AppRecord, DataverseClient, DataverseRow, LinkDigest, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import { compactOptionsOf, decideLeftovers, matchesLink, pairCompactPage } from "./compactPlan.js";
import { decidePair, echoHashOf, emptyDecisions, hash32, type DecideContext, type Decisions, type Pair } from "./decide.js";
import { hash64Canonical } from "./hash.js";
import { Held } from "./heldLinks.js";
import { canonicalEquals } from "./values.js";
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
  /**
   * Pending records met in this run's feeds: they are not decided from the feed (one side of it may
   * be missing, and the last-synced base is not what that side holds), but re-read fresh on both
   * sides by the engine, like every due pending record.
   */
  deferred: { appId?: string; dataverseId?: string }[];
}

/** Up to this many echoes are checked against their own links; more, against a scan of the links' digests. */
const ECHO_LOOKUP_LIMIT = 200;
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
 * A complete Dataverse read above `compactReads.above` rows is not held either: it keeps each row's
 * id, hash and key, app records pair with those, and the rows left are decided by a second read of
 * the table, page by page (compactPlan.ts).
 */
export async function planRun(deps: PlanDeps, ctx: DecideContext, full: boolean, options: SyncOptions, sink?: PlanSink): Promise<RunPlan> {
  const m = ctx.mapping;
  const [dvCursor, appCursor] = full ? [null, null] : await Promise.all([deps.state.getCursor(m.name, "dataverse"), deps.state.getCursor(m.name, "app")]);
  const dv = await readDataverseChanges(deps.dataverse, m, dvCursor, full, (row) => echoHashOf(ctx, row), compactOptionsOf(ctx));
  // A large complete read is kept compact (ids, hashes, keys) and paired page by page (compactPlan.ts).
  const compact = dv.compact;
  const appComplete = full || !appCursor;
  const plan: RunPlan = {
    ...emptyDecisions(), cursors: { dataverse: dv.deltaLink, app: appComplete ? undefined : appCursor?.value }, notes: dv.note ? [dv.note] : [],
    blockedDeletes: 0, reads: { dataverse: dv.rows.length + (compact?.total ?? 0) + dv.echoes.size + dv.deleted.length, app: 0 }, deferred: [],
  };
  /** A pair of a pending record is left to the engine's fresh re-read (see RunPlan.deferred). */
  const deferPending = (p: Pair): boolean => {
    if (!isPendingPair(ctx, p)) return false;
    const appId = p.app?.id ?? p.link?.appId;
    const dataverseId = p.dv ? String(p.dv[m.primaryId]) : p.link?.dataverseId;
    plan.deferred.push({ ...(appId ? { appId } : {}), ...(dataverseId ? { dataverseId } : {}) });
    return true;
  };
  const flush = async () => {
    if (!sink) return;
    if (plan.toDataverse.length) await sink("toDataverse", plan.toDataverse.splice(0));
    if (plan.toApp.length) await sink("toApp", plan.toApp.splice(0));
  };

  // Complete reads hold every link's digest (absence proves a delete); a delta reads only its records' links.
  const links = await LinkIndex.open(deps.state, m.name, dv.complete || appComplete);
  const held = links.digests;
  // Echoes of our own writes that are linked and hold what we wrote are skips; the others (a write
  // whose link was lost, or a row someone else changed around our write) are read again and planned.
  const echoes = await settleEchoes(deps, m, links, dv.echoes);
  plan.skipped.toApp += echoes.linked;
  dv.rows.push(...echoes.unlinkedRows);
  // Dataverse side first: its pairs wait here until an app record claims them or the feed ends.
  const pairs = new Map<string, Pair>();
  const pairFor = (key: string) => pairs.get(key) ?? pairs.set(key, {}).get(key)!;
  await links.prefetch({ dataverseIds: [...dv.rows.map((row) => String(row[m.primaryId])), ...dv.deleted] });
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
    // A pending row that was never linked (a duplicate held back) is gone: re-read at once, which settles its entry.
    else if (ctx.pending?.has(`d:${id}`)) plan.deferred.push({ dataverseId: id });
  }
  // The same for a complete read: pending rows it did not find are gone.
  for (const key of dv.seen ? ctx.pending ?? [] : []) {
    if (key.startsWith("d:") && !dv.seen!.has(key.slice(2))) plan.deferred.push({ dataverseId: key.slice(2) });
  }
  const dvByKey = new Map<string, string>();
  for (const [k, p] of pairs) {
    const key = k.startsWith("D:") && p.dv ? m.keyStringOfRow(p.dv) : null;
    if (key) dvByKey.set(key, k);
  }
  // A complete read proves absence: a linked record missing from it was deleted (e.g. in an expired-token gap).
  const anyLinks = !held || held.size > 0;
  const seenDv = dv.complete && anyLinks ? dv.seen : undefined;
  // The app's complete read marks the held links it met (Held.SeenApp); all it met were decided with their record (Held.Decided).
  const seenApp = appComplete && anyLinks;
  /**
   * A complete read's linked record that neither side changed since its link (same values and app
   * version; its row unchanged in a compact read, or not in a delta) is skipped from the held digest,
   * without reading its whole link: decidePair would skip it too (nothing to write, no link update).
   */
  const unchanged = (r: AppRecord, slot: number): boolean => {
    if (!held || slot < 0 || r.deleted || ctx.reconcile || pairs.has(`L:${r.id}`)) return false;
    if (held.has(slot, Held.PendingCreate) || !held.versionIs(slot, r.version)) return false;
    const dvId = held.dataverseId(slot);
    if (ctx.pending?.has(`a:${r.id}`) || ctx.pending?.has(`d:${dvId}`)) return false;
    // A complete read that is not compact holds its rows in `pairs`: a row not there was not seen.
    if (compact ? !matchesLink(compact.hashOf(dvId), held.hash32(slot)) : dv.complete) return false;
    if (!m.acceptsApp(r)) return false;
    try {
      if (!held.hashIs(slot, hash64Canonical(m.appToCanonical(r)))) return false;
    } catch {
      return false; // reported when the pair is decided
    }
    compact?.claim(dvId);
    return true;
  };

  for await (const page of deps.app.changes(m.mapping.app.entity, appComplete ? undefined : appCursor?.value, APP_PAGE)) {
    const pagePairs: Pair[] = [];
    const rest: AppRecord[] = [];
    for (const r of page.records) {
      const slot = held ? held.byApp(r.id) : -1;
      if (slot >= 0) held!.mark(slot, seenApp ? Held.SeenApp | Held.Decided : Held.Decided);
      if (unchanged(r, slot)) plan.skipped.toDataverse += 1;
      else rest.push(r);
    }
    await links.prefetch({ appIds: rest.map((r) => r.id) });
    for (const r of rest) {
      const link = await links.byAppId(r.id);
      const claimed = link ? pairs.get(`L:${link.appId}`) : undefined;
      if (claimed) pairs.delete(`L:${link!.appId}`);
      const p: Pair = claimed ?? { link: link ?? undefined };
      if (r.deleted) p.appGone = true;
      else p.app = r;
      if (link && seenDv && !seenDv.has(link.dataverseId)) p.dvUnseen = true;
      pagePairs.push(p);
    }
    plan.reads.app += page.records.length;
    if (compact) await pairCompactPage(deps, ctx, compact, links, pagePairs);
    await readDataverseSides(deps, ctx, pagePairs.filter((p) => !isPendingPair(ctx, p)));
    for (const p of pagePairs) {
      if (!p.link && p.app && !compact) await matchAppByKey(deps, ctx, p, pairs, dvByKey, dv.complete);
      if (!deferPending(p)) await decidePair(ctx, p, plan);
    }
    plan.cursors.app = page.nextCursor;
    await flush();
  }

  /** Compact reads: rows of linked records gone from the app, decided with their row by the second read. */
  const appGone = new Set<string>();
  const unseenDv: Pair[] = [];
  const goneDvOf = (id: string) => !!seenDv && !seenDv.has(id);
  const goneAppOf = (appId: string) => seenApp && !held!.has(held!.byApp(appId), Held.SeenApp);
  // Held links the app's feed did not decide, whose record a complete read did not see: read whole (and fresh).
  for await (const link of seenDv || seenApp ? links.unaccounted((appId, id) => goneDvOf(id) || goneAppOf(appId)) : []) {
    const goneDv = goneDvOf(link.dataverseId);
    const goneApp = goneAppOf(link.appId);
    if (!goneDv && !goneApp) continue;
    if (compact && !goneDv && compact.has(link.dataverseId)) {
      appGone.add(link.dataverseId);
      continue;
    }
    const p = pairFor(`L:${link.appId}`);
    p.link = link;
    if (goneDv) unseenDv.push(Object.assign(p, { dvUnseen: true }));
    if (goneApp) p.appGone = true;
  }
  // Rows the complete read did not see are read by id: only those still missing are gone.
  await readDataverseSides(deps, ctx, unseenDv);
  const decide = async (pair: Pair) => {
    if (deferPending(pair)) return;
    if (!pair.link && !pair.app && pair.dv) await pairByNamedApp(deps, m, links, pair);
    await decidePair(ctx, pair, plan);
  };
  // Cursors move only after planRun returns: a run that dies in this pass is planned again from
  // the start (the writes it queued already are idempotent).
  if (compact) plan.reads.dataverse += await decideLeftovers(deps, ctx, compact, links, appGone, appComplete, plan, { decide, flush });
  if (!appComplete) await claimByAppId(deps, ctx, pairs);
  for (const pair of pairs.values()) await decide(pair);
  await flush();
  await applyDeleteBreaker(plan, links, options, m.name);
  await flush();
  return plan;
}

export function isPendingPair(ctx: DecideContext, p: Pair): boolean {
  // A create that may not have landed, met with its row only: matched with a fresh read of its app record.
  if (p.link?.pendingCreate && p.dv && !p.app) return true;
  const pending = ctx.pending;
  if (!pending?.size) return false;
  const appId = p.app?.id ?? p.link?.appId;
  const dataverseId = p.dv ? String(p.dv[ctx.mapping.primaryId]) : p.link?.dataverseId;
  return !!(appId && pending.has(`a:${appId}`)) || !!(dataverseId && pending.has(`d:${dataverseId}`));
}

/** Rows are read again by id this many to a request (`<id> eq … or …`: about 2.5 KB of URL). */
const REREAD_CHUNK = 50;

/** Reads Dataverse rows by id, REREAD_CHUNK to a request. Rows that no longer exist are simply absent. */
export async function readRowsById(deps: Pick<PlanDeps, "dataverse">, m: CompiledMapping, ids: string[]): Promise<DataverseRow[]> {
  const out: DataverseRow[] = [];
  for (let i = 0; i < ids.length; i += REREAD_CHUNK) {
    const filter = ids.slice(i, i + REREAD_CHUNK).map((id) => `${checkName(m.primaryId, "column")} eq ${checkGuid(id)}`).join(" or ");
    for await (const rows of deps.dataverse.query(m.mapping.dataverse.entitySet, { select: m.select, filter })) out.push(...rows);
  }
  return out;
}

/**
 * Checks the rows set aside as echoes against the links, without holding the links when there are
 * many: a scan ticks them off. An echo is a row that is linked and whose mapped values hash like the
 * link's base (what we wrote): those are counted (skipped). The rest (a write whose link was lost, or
 * a row that someone else changed just before our write or a plug-in changed during it) are read
 * again and planned like any change.
 */
async function settleEchoes(deps: PlanDeps, m: CompiledMapping, links: LinkIndex, echoes: IdSet): Promise<{ linked: number; unlinkedRows: DataverseRow[] }> {
  const total = echoes.size;
  if (!total) return { linked: 0, unlinkedRows: [] };
  const tick = (link: LinkDigest) => {
    if (echoes.get(link.dataverseId) === hash32(link.hash)) echoes.delete(link.dataverseId);
  };
  const held = links.digests;
  if (held) {
    for (const id of [...echoes]) {
      const slot = held.byDataverse(id);
      if (slot >= 0 && echoes.get(id) === held.hash32(slot)) echoes.delete(id);
    }
  } else if (total <= ECHO_LOOKUP_LIMIT) {
    await links.prefetch({ dataverseIds: echoes });
    for (const id of [...echoes]) {
      const link = await links.byDataverseId(id);
      if (link) tick(link);
    }
  } else {
    for await (const link of deps.state.listLinkDigests(m.name)) tick(link);
  }
  const rest = [...echoes];
  return { linked: total - rest.length, unlinkedRows: await readRowsById(deps, m, rest) };
}

/**
 * A linked app record that changed, or went away, while its Dataverse row is not in this run's
 * delta: the row is read now, so the decision (and the row version its write is conditional on) is
 * based on the row as it is, not on the last-synced base. A row that no longer exists is gone.
 * Records whose values equal the base (echoes of our own app writes) need no read. Rows a complete
 * read did not see (`dvUnseen`) are read whatever their app record did.
 */
async function readDataverseSides(deps: PlanDeps, ctx: DecideContext, pairs: Pair[]): Promise<void> {
  const m = ctx.mapping;
  const wanted = new Map<string, Pair>();
  for (const p of pairs) {
    if (!p.link || p.dv || p.dvGone) continue;
    // A row missing from a complete read is always read: gone only if it is not found by id either.
    if (!p.dvUnseen && !rowWanted(m, p)) continue;
    wanted.set(p.link.dataverseId, p);
  }
  if (!wanted.size) return;
  for (const row of await readRowsById(deps, m, [...wanted.keys()])) {
    const p = wanted.get(String(row[m.primaryId]));
    if (p) p.dv = row;
  }
  for (const p of wanted.values()) if (!p.dv) p.dvGone = true;
}

/** Whether a linked pair without its row needs the row: its app record changed or went away. */
function rowWanted(m: CompiledMapping, p: Pair): boolean {
  if (!p.app) return !!p.appGone;
  let values;
  try {
    values = m.appToCanonical(p.app);
  } catch {
    return false; // reported when the pair is decided
  }
  return m.acceptsApp(p.app) && !m.mergeFields.every((f) => canonicalEquals(values[f.name], p.link!.base[f.name]));
}

/**
 * First-sync matching for one unlinked app record: an unlinked Dataverse row with the same key value
 * is the same record. When the Dataverse feed was a delta, the row is looked up directly.
 */
export async function matchAppByKey(deps: PlanDeps, ctx: DecideContext, p: Pair, pairs: Map<string, Pair>, dvByKey: Map<string, string>, dvComplete: boolean): Promise<void> {
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

/**
 * Dataverse rows whose key is the app id of a record the app's delta did not report: read it
 * directly. A record linked to another row is not this row's (the row is a duplicate, Pair.duplicateOf).
 */
export async function claimByAppId(deps: PlanDeps, ctx: DecideContext, pairs: Map<string, Pair>): Promise<void> {
  const m = ctx.mapping;
  for (const [k, p] of pairs) {
    if (!k.startsWith("D:") || !p.dv) continue;
    const appId = m.appIdOfRow(p.dv);
    if (!appId) continue;
    const record = await deps.app.get(m.mapping.app.entity, appId);
    if (!record) continue;
    const link = await deps.state.getLinkByApp(m.name, appId);
    if (link && link.dataverseId !== String(p.dv[m.primaryId])) {
      p.duplicateOf = link;
      continue;
    }
    if (link) p.link = link;
    p.app = record;
  }
}

/**
 * A row left without a link and an app record whose key names an app id: that record's link, read
 * afresh (the run's preloaded links may predate it: a writer links a new pair while the run plans).
 * A link to this row makes the pair a linked one; a link to another row makes this row a duplicate
 * (Pair.duplicateOf), which must not be created in the app.
 */
async function pairByNamedApp(deps: PlanDeps, m: CompiledMapping, links: LinkIndex, p: Pair): Promise<void> {
  const appId = m.appIdOfRow(p.dv!);
  if (!appId) return;
  const link = (await links.byAppId(appId)) ?? (links.heldForApp(appId) ? await deps.state.getLinkByApp(m.name, appId) : null);
  if (!link) return;
  if (link.dataverseId === String(p.dv![m.primaryId])) p.link = link;
  else p.duplicateOf = link;
}

export async function applyDeleteBreaker(plan: RunPlan, links: LinkIndex, options: SyncOptions, mapping: string): Promise<void> {
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
