import type { SyncOptions } from "../config/mapping.js";
import type { AppRecord, DataverseRow, Link } from "../ports.js";
import { decidePair, emptyDecisions, hash32, type DecideContext, type Pair } from "./decide.js";
import { hash32Canonical } from "./hash.js";
import { IdSet } from "./idSet.js";
import { KeyHashMap } from "./keyHashMap.js";
import { LinkIndex } from "./linkIndex.js";
import { applyDeleteBreaker, claimByAppId, isPendingPair, matchAppByKey, readRowsById, type PlanDeps, type PlanSink, type RunPlan } from "./planner.js";

/** Records per page of the app's feed, and suspects decided together (one batch of row reads). */
const APP_PAGE = 1000;
const DECIDE_CHUNK = 500;

/** A record one of the scans found out of step with its link; decided from fresh reads. */
interface Suspect {
  appId: string;
  link?: Link;
  /** The app record as the complete feed held it (absent: not in the feed, so gone). */
  app?: AppRecord;
}

/**
 * Plans a reconcile run in bounded memory. A full run pairs every Dataverse row with its app record
 * in memory; a reconcile of a million records cannot. Instead it compares each side with the links
 * by hash, keeping only what it needs to find the records that are out of step:
 *
 * 1. Dataverse, read in full page by page: each row's id and the first 32 bits of its mapped values'
 *    hash (IdSet, about 21 bytes a row).
 * 2. The links, scanned: a row that is gone, or whose hash differs from the link's (the base), makes
 *    its record a suspect; each link's app id goes into a compact index with its base hash
 *    (KeyHashMap, about 24 bytes a link). Rows left over are unlinked.
 * 3. The app, read in full page by page: a record whose hash differs from its link's is a suspect;
 *    an unlinked record is matched by key (an alternate-key read) and decided at once.
 * 4. Links whose app record the feed did not hold: the record is gone from the app (a second scan).
 * 5. Suspects are decided from fresh reads (rows 50 to a request) through the normal decision path,
 *    which also counts the divergence; unlinked Dataverse rows likewise; deletes go through the
 *    mass-delete breaker.
 *
 * Memory is the two hash indexes plus what diverged. Records in step with their links are never held,
 * read twice, or decided. A reconcile of a mapping with few links (a first sync) matches every record
 * by key, one read each: that is a full run's work, not a reconcile's.
 */
export async function planReconcile(deps: PlanDeps, ctx: DecideContext, options: SyncOptions, sink?: PlanSink): Promise<RunPlan> {
  const m = ctx.mapping;
  const entity = m.mapping.app.entity;
  const plan: RunPlan = { ...emptyDecisions(), cursors: {}, notes: [], blockedDeletes: 0, reads: { dataverse: 0, app: 0 }, deferred: [] };
  const flush = async () => {
    if (!sink) return;
    if (plan.toDataverse.length) await sink("toDataverse", plan.toDataverse.splice(0));
    if (plan.toApp.length) await sink("toApp", plan.toApp.splice(0));
  };
  const decide = async (pair: Pair) => {
    if (!isPendingPair(ctx, pair)) return decidePair(ctx, pair, plan);
    // Pending records are re-read fresh by the engine (RunPlan.deferred), like in every run.
    const appId = pair.app?.id ?? pair.link?.appId;
    const dataverseId = pair.dv ? String(pair.dv[m.primaryId]) : pair.link?.dataverseId;
    plan.deferred.push({ ...(appId ? { appId } : {}), ...(dataverseId ? { dataverseId } : {}) });
  };

  // 1. Dataverse in full.
  const dvHashes = IdSet.withValues();
  const dvUnhashable = new Set<string>();
  for await (const page of deps.dataverse.readChanges(m.mapping.dataverse.entitySet, { select: m.select })) {
    for (const row of page.rows) {
      const id = String(row[m.primaryId]);
      plan.reads.dataverse += 1;
      try {
        dvHashes.add(id, hash32Canonical(await m.dataverseToCanonical(row, ctx.lookups)));
      } catch {
        dvHashes.add(id, 0);
        dvUnhashable.add(id); // a value that cannot be mapped: decided (and reported) as a suspect
      }
    }
    if (page.deltaLink) plan.cursors.dataverse = page.deltaLink;
  }

  // 2. The links against the Dataverse side.
  const suspects = new Map<string, Suspect>();
  const appIndex = new KeyHashMap();
  for await (const link of deps.state.listLinkDigests(m.name)) {
    const base = hash32(link.hash);
    const dv = dvHashes.get(link.dataverseId);
    if (dv === undefined || dv !== base || dvUnhashable.has(link.dataverseId) || link.pendingCreate) suspects.set(link.appId, { appId: link.appId });
    dvHashes.delete(link.dataverseId);
    appIndex.set(link.appId, base);
  }

  // 3. The app in full against the links.
  const unlinked: AppRecord[] = [];
  const decideUnlinked = async () => {
    for (const app of unlinked.splice(0)) {
      const pair: Pair = { app };
      await matchAppByKey(deps, ctx, pair, new Map(), new Map(), false);
      if (pair.dv) dvHashes.delete(String(pair.dv[m.primaryId]));
      await decide(pair);
    }
    await flush();
  };
  for await (const page of deps.app.changes(entity, undefined, APP_PAGE)) {
    for (const record of page.records) {
      if (record.deleted) continue; // a tombstone: its link (if any) stays in the index, so it counts as gone
      plan.reads.app += 1;
      const base = appIndex.get(record.id);
      if (base === undefined) {
        unlinked.push(record);
        continue;
      }
      appIndex.delete(record.id);
      const known = suspects.get(record.id);
      if (known) {
        known.app = record;
        continue;
      }
      let hash: number | undefined;
      try {
        hash = hash32Canonical(m.appToCanonical(record));
      } catch {
        hash = undefined; // decided (and reported) as a suspect
      }
      if (hash !== base) suspects.set(record.id, { appId: record.id, app: record });
    }
    plan.cursors.app = page.nextCursor;
    if (unlinked.length >= DECIDE_CHUNK) await decideUnlinked();
  }
  await decideUnlinked();

  // 4. Links whose app record is gone.
  if (appIndex.size) {
    for await (const link of deps.state.listLinkDigests(m.name)) {
      if (appIndex.has(link.appId) && !suspects.has(link.appId)) suspects.set(link.appId, { appId: link.appId });
    }
  }

  // 5. Suspects, from fresh Dataverse reads.
  const list = [...suspects.values()];
  suspects.clear();
  for (let i = 0; i < list.length; i += DECIDE_CHUNK) {
    const chunk = list.slice(i, i + DECIDE_CHUNK);
    for (const s of chunk) s.link ??= (await deps.state.getLinkByApp(m.name, s.appId)) ?? undefined;
    const rows = new Map<string, DataverseRow>();
    for (const row of await readRowsById(deps, m, chunk.flatMap((s) => (s.link ? [s.link.dataverseId] : [])))) rows.set(String(row[m.primaryId]), row);
    for (const s of chunk) {
      if (!s.link) {
        if (s.app) unlinked.push(s.app); // its link went away meanwhile: an unlinked record
        continue;
      }
      const dv = rows.get(s.link.dataverseId);
      await decide({ link: s.link, app: s.app, appGone: !s.app, dv, dvGone: !dv });
    }
    await decideUnlinked();
  }

  // Unlinked Dataverse rows no app record claimed by key.
  let ids: string[] = [];
  const decideRows = async () => {
    const pairs = new Map<string, Pair>();
    for (const row of await readRowsById(deps, m, ids.splice(0))) pairs.set(`D:${String(row[m.primaryId])}`, { dv: row });
    await claimByAppId(deps, ctx, pairs);
    for (const pair of pairs.values()) await decide(pair);
    await flush();
  };
  for (const id of dvHashes) {
    ids.push(id);
    if (ids.length >= DECIDE_CHUNK) await decideRows();
  }
  if (ids.length) await decideRows();
  ids = [];

  await applyDeleteBreaker(plan, await LinkIndex.open(deps.state, m.name, false), options, m.name);
  await flush();
  return plan;
}
