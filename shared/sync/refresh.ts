import type { AppClient, DataverseClient, DataverseRow, Link, SyncStateStore } from "../ports.js";
import { decidePair, emptyDecisions, type DecideContext, type Decisions, type Pair } from "./decide.js";

/**
 * Decides one record from fresh reads of both sides (webhook notices, a write that lost an If-Match
 * race). Stale, repeated or truncated notices are harmless: only the current state counts.
 */
export async function refreshRecord(
  deps: { dataverse: DataverseClient; app: AppClient; state: SyncStateStore },
  ctx: DecideContext,
  ids: { appId?: string; dataverseId?: string },
  /** Rows read just before for many records at once (null: the row does not exist). */
  prefetched?: Map<string, DataverseRow | null>,
  /** The record's link read just before for many records at once (null: it has none); read here when undefined. */
  knownLink?: Link | null,
  /** A Dataverse notice: the app side may be taken as last synced, without a GET (see appAsLastSynced). */
  options: { appFromLink?: boolean } = {},
): Promise<Decisions> {
  const m = ctx.mapping;
  const out = emptyDecisions();
  let link = knownLink !== undefined ? knownLink : ids.appId ? await deps.state.getLinkByApp(m.name, ids.appId) : null;
  if (!link && knownLink === undefined && ids.dataverseId) link = await deps.state.getLinkByDataverse(m.name, ids.dataverseId);
  const dataverseId = link?.dataverseId ?? ids.dataverseId;
  const known = dataverseId !== undefined ? prefetched?.get(dataverseId) : undefined;
  const dv = known !== undefined ? known : dataverseId ? await deps.dataverse.retrieve(m.mapping.dataverse.entitySet, dataverseId, m.select) : null;
  if (options.appFromLink && link && dv) {
    const unread = await appAsLastSynced(ctx, link, dv);
    if (unread) return unread;
  }
  let appId = link?.appId ?? ids.appId;
  if (!link && dv) {
    // An unlinked row whose key names an app record: that record's row, unless it is linked to another (a duplicate).
    const named = m.appIdOfRow(dv);
    const namedLink = named && named !== ids.appId ? await deps.state.getLinkByApp(m.name, named) : null;
    if (namedLink && namedLink.dataverseId !== String(dv[m.primaryId])) return decide(ctx, { dv, duplicateOf: namedLink }, out);
    if (namedLink) link = namedLink;
    appId ??= named;
  }
  const app = appId ? await deps.app.get(m.mapping.app.entity, appId) : null;
  if (!link && appId && dataverseId === undefined && app) {
    const key = (() => { try { return m.keyOf(m.appToCanonical(app)); } catch { return null; } })();
    const row = key ? await deps.dataverse.retrieveByKey(m.mapping.dataverse.entitySet, key, m.select) : null;
    return decide(ctx, { app, dv: row ?? undefined }, out);
  }
  const pair: Pair = {
    link: link ?? undefined,
    app: app ?? undefined,
    appGone: !!link && !app,
    dv: dv ?? undefined,
    dvGone: !!link && !dv,
  };
  return decide(ctx, pair, out);
}

async function decide(ctx: DecideContext, pair: Pair, out: Decisions): Promise<Decisions> {
  await decidePair(ctx, pair, out);
  for (const { direction, op } of out.deletes) (direction === "toDataverse" ? out.toDataverse : out.toApp).push(op);
  out.deletes = [];
  return out;
}

/**
 * A Dataverse edit of a linked record decided without reading the app record: the app side is taken
 * to be what was last synced (the link's base, at the link's app version). Its writes are app
 * updates that carry that version as If-Match (`appUnread`): an app edit made since fails the write
 * with 412 and a record deleted since with 404, and either way the record is read on both sides and
 * decided again (appWriter.ts), so nothing is merged against a stale app record. Only where the
 * app record's content cannot change the decision otherwise: a settled link whose base holds every
 * mapped field, no app filter, no custom record mapper, and a decision that is nothing but app
 * updates; anything else (nothing to write, a write to Dataverse, a pending record, a failure) is
 * decided from real reads (undefined).
 */
async function appAsLastSynced(ctx: DecideContext, link: Link, dv: DataverseRow): Promise<Decisions | undefined> {
  const m = ctx.mapping;
  const appVersion = link.appVersion;
  if (appVersion === undefined || link.pendingCreate || m.mapping.app.filter || m.mapping.mapper) return undefined;
  if (!m.fields.every((f) => f.app in link.base)) return undefined;
  const out = await decide(ctx, { link, dv }, emptyDecisions());
  const onlyAppUpdates = out.toApp.length > 0 && out.toApp.every((op) => op.kind === "update" && op.fullBase)
    && !out.toDataverse.length && !out.linkUpdates.length && !out.linkRemovals.length && !out.parked.length && !out.failures.length && !out.pending.length;
  if (!onlyAppUpdates) return undefined;
  for (const op of out.toApp) Object.assign(op, { appVersion, appUnread: true });
  return out;
}
