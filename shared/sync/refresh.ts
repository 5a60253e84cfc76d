import type { AppClient, DataverseClient, DataverseRow, SyncStateStore } from "../ports.js";
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
): Promise<Decisions> {
  const m = ctx.mapping;
  const out = emptyDecisions();
  let link = ids.appId ? await deps.state.getLinkByApp(m.name, ids.appId) : null;
  if (!link && ids.dataverseId) link = await deps.state.getLinkByDataverse(m.name, ids.dataverseId);
  const dataverseId = link?.dataverseId ?? ids.dataverseId;
  const known = dataverseId !== undefined ? prefetched?.get(dataverseId) : undefined;
  const dv = known !== undefined ? known : dataverseId ? await deps.dataverse.retrieve(m.mapping.dataverse.entitySet, dataverseId, m.select) : null;
  let appId = link?.appId ?? ids.appId;
  if (!appId && dv && m.idKeyFields.length === 1 && m.keyFields.length === 1) {
    const v = dv[m.idKeyFields[0].dataverse];
    if (typeof v === "string" && v) appId = v;
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
