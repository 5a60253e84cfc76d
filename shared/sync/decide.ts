import { ErrorCodes, SyncError, errorMessage, isSyncError } from "../errors.js";
import type { AppRecord, Canonical, ConflictRecord, DataverseRow, DirectionKey, Link } from "../ports.js";
import { hashCanonical } from "./hash.js";
import { pick, type CompiledMapping } from "./compiledMapping.js";
import { deterministicGuid } from "./ids.js";
import type { LookupResolver } from "./lookups.js";
import { mergeRecord, type MergeResult } from "./merge.js";
import type { WriteOp } from "./writeOps.js";
import { canonicalEquals } from "./values.js";

/** One record as seen in a run: its link (if any) and what each side's change feed said. */
export interface Pair {
  link?: Link;
  app?: AppRecord;
  appGone?: boolean;
  dv?: DataverseRow;
  dvGone?: boolean;
}

export interface RecordFailure {
  direction: DirectionKey;
  recordId: string;
  code: string;
  message: string;
  retryable: boolean;
  payload: unknown;
}

/** What a run (or a single-record refresh) decided. */
export interface Decisions {
  toDataverse: WriteOp[];
  toApp: WriteOp[];
  /** Deletes wait here until the mass-delete breaker has looked at them. */
  deletes: { direction: DirectionKey; op: WriteOp }[];
  linkUpdates: Link[];
  linkRemovals: Link[];
  skipped: { toDataverse: number; toApp: number };
  conflicts: number;
  parked: ConflictRecord[];
  failures: RecordFailure[];
}

export function emptyDecisions(): Decisions {
  return { toDataverse: [], toApp: [], deletes: [], linkUpdates: [], linkRemovals: [], skipped: { toDataverse: 0, toApp: 0 }, conflicts: 0, parked: [], failures: [] };
}

export interface DecideContext {
  mapping: CompiledMapping;
  lookups: LookupResolver;
  selfUserId: string;
  runId: string;
  now: () => string;
  /** true when both sides were just read fresh (webhook refresh): compare each with the base. */
  fresh?: boolean;
}

const isSelf = (ctx: DecideContext, row: DataverseRow) => ctx.selfUserId !== "" && row["_modifiedby_value"] === ctx.selfUserId;

/**
 * A row whose last change is our own write and that the mapping's Dataverse filter accepts. Linked,
 * it stands for nothing new: decided alone it is a skip, and with its app record the Dataverse side
 * counts as unchanged either way. The planner keeps only the ids of such rows.
 */
export const isEchoRow = (ctx: DecideContext, row: DataverseRow): boolean => !ctx.fresh && isSelf(ctx, row) && ctx.mapping.acceptsDataverse(row);

export async function decidePair(ctx: DecideContext, pair: Pair, out: Decisions): Promise<void> {
  const m = ctx.mapping;
  const { link } = pair;
  const dvId = pair.dv ? String(pair.dv[m.primaryId]) : link?.dataverseId;
  const appId = pair.app?.id ?? link?.appId;

  if (pair.appGone || pair.dvGone) {
    if (!link) return; // a record that was never synced went away: nothing to do
    if (pair.appGone && pair.dvGone) out.linkRemovals.push(link);
    // A full read finds the row gone again, but the app record was deactivated already (appWriter keeps the link).
    else if (pair.dvGone && pair.app && isAppInactive(m, pair.app)) out.skipped.toApp += 1;
    else planDelete(ctx, pair.appGone ? "toDataverse" : "toApp", link, out);
    return;
  }
  if (pair.app && !m.acceptsApp(pair.app)) return void (out.skipped.toDataverse += 1);
  if (pair.dv && !m.acceptsDataverse(pair.dv)) return void (out.skipped.toApp += 1);

  let appVals: Canonical | undefined;
  let dvVals: Canonical | undefined;
  try {
    if (pair.app) appVals = m.appToCanonical(pair.app);
  } catch (e) {
    return fail(out, "toDataverse", appId ?? "?", e, { side: "app", appId, dataverseId: dvId });
  }
  try {
    if (pair.dv) dvVals = await m.dataverseToCanonical(pair.dv, ctx.lookups);
  } catch (e) {
    return fail(out, "toApp", dvId ?? "?", e, { side: "dataverse", appId, dataverseId: dvId });
  }

  if (link || (appVals && dvVals)) {
    const base = link?.base;
    const dvEcho = pair.dv !== undefined && !ctx.fresh && isSelf(ctx, pair.dv);
    const appSide = appVals ? { values: appVals, changedAt: pair.app!.updatedAt, changed: true } : { values: base ?? {}, changed: false };
    const dvSide = dvVals && !dvEcho
      ? { values: dvVals, changedAt: String(pair.dv!["modifiedon"] ?? ""), changed: true }
      : { values: base ?? {}, changed: false };
    const merge = mergeRecord(m.mergeFields, m.mapping.conflict.strategy, appSide, dvSide, base);
    emitMerge(ctx, pair, appId!, dvId!, merge, out);
    return;
  }
  if (appVals) return planCreate(ctx, "toDataverse", appId!, undefined, appVals, out);
  // Under `deactivate` an inactive row stands for a deleted record (often one we deactivated): not a new one.
  if (dvVals && m.mapping.deletes === "deactivate" && isInactive(pair.dv!)) return void (out.skipped.toApp += 1);
  if (dvVals) return planCreate(ctx, "toApp", undefined, dvId!, dvVals, out);
}

const isAppInactive = (m: CompiledMapping, r: AppRecord) =>
  m.mapping.deletes === "deactivate" && !!m.mapping.app.inactiveField && canonicalEquals(r.data?.[m.mapping.app.inactiveField.field], m.mapping.app.inactiveField.value);

const isInactive = (row: DataverseRow) => row["statecode"] !== undefined && row["statecode"] !== null && Number(row["statecode"]) !== 0;

function emitMerge(ctx: DecideContext, pair: Pair, appId: string, dataverseId: string, merge: MergeResult, out: Decisions): void {
  const { link } = pair;
  if (merge.conflicts.length) out.conflicts += 1;
  if (merge.parked) {
    out.parked.push({
      id: `${ctx.mapping.name}|${appId}`, mapping: ctx.mapping.name, appId, dataverseId,
      fields: merge.conflicts.map(({ field, app, dataverse, base }) => ({ field, app, dataverse, base })),
      appUpdatedAt: pair.app?.updatedAt, dataverseModifiedOn: pair.dv ? String(pair.dv["modifiedon"]) : undefined,
      detectedAt: ctx.now(), runId: ctx.runId, status: "open",
    });
    if (pair.app) out.skipped.toDataverse += 1;
    if (pair.dv) out.skipped.toApp += 1;
    return;
  }
  const toDv = Object.keys(merge.toDataverse);
  const toApp = Object.keys(merge.toApp);
  const appVersion = pair.app?.version ?? link?.appVersion;
  const dvVersion = pair.dv ? String(pair.dv["@odata.etag"] ?? "") : link?.dataverseVersion;
  // Only one side written: its base is the whole merged base, so the writer can store the link
  // without merging with the stored one (when the link keeps both ids).
  const sameIds = !link || (link.appId === appId && link.dataverseId === dataverseId);
  const fullBase = sameIds && !(toDv.length && toApp.length) ? { fullBase: true } : {};
  if (toDv.length) {
    const base = toApp.length ? omit(merge.base, toApp) : merge.base;
    out.toDataverse.push({ kind: "update", appId, dataverseId, values: merge.toDataverse, base, appVersion, dataverseVersion: dvVersion, attempt: 0, ...fullBase });
  } else if (pair.app) out.skipped.toDataverse += 1;
  if (toApp.length) {
    const base = toDv.length ? pick(merge.base, toApp) : merge.base;
    out.toApp.push({ kind: "update", appId, dataverseId, values: merge.toApp, base, appVersion: pair.app?.version, dataverseVersion: dvVersion, attempt: 0, ...fullBase });
  } else if (pair.dv) out.skipped.toApp += 1;
  if (!toDv.length && !toApp.length) {
    // The Dataverse version alone is not worth a write: our own writes change it (their echoes come
    // back in the next delta) and nothing relies on it (updates use If-Match: *). The app version is
    // sent as If-Match, so it is kept current.
    const changed = !link || !canonicalEquals(link.base, merge.base) || link.appVersion !== appVersion;
    if (changed) {
      out.linkUpdates.push({
        mapping: ctx.mapping.name, appId, dataverseId, base: merge.base, hash: hashCanonical(merge.base),
        appVersion, dataverseVersion: dvVersion, lastSyncedAt: ctx.now(), etag: link?.etag,
      });
    }
  }
}

function planCreate(ctx: DecideContext, direction: DirectionKey, appId: string | undefined, dataverseId: string | undefined, values: Canonical, out: Decisions): void {
  const m = ctx.mapping;
  const target = direction === "toDataverse" ? "dataverse" : "app";
  const writable = m.writableTo(target);
  if (!writable.length) return void (out.skipped[direction] += 1);
  const written = pick(values, writable);
  const base: Canonical = Object.fromEntries(m.fields.map((f) => [f.app, null]));
  Object.assign(base, written);
  if (direction === "toDataverse") {
    if (!m.keyOf(values)) {
      const keys = m.keyFields.map((f) => f.app).join(", ");
      return fail(out, direction, appId!, new SyncError("permanent", ErrorCodes.Rejected, `${m.name}: app record ${appId} has no value for the key field(s) ${keys}, so it cannot be matched in Dataverse`), { side: "app", appId });
    }
    const id = deterministicGuid(m.name, m.mapping.dataverse.entitySet, appId!);
    out.toDataverse.push({ kind: "create", appId, dataverseId: id, values: written, base, attempt: 0 });
  } else {
    out.toApp.push({ kind: "create", dataverseId, values: written, base, attempt: 0 });
  }
}

function planDelete(ctx: DecideContext, direction: DirectionKey, link: Link, out: Decisions): void {
  const policy = ctx.mapping.mapping.deletes;
  const op: WriteOp = { kind: "delete", appId: link.appId, dataverseId: link.dataverseId, values: {}, base: {}, attempt: 0 };
  if (policy === "ignore") return void out.linkRemovals.push(link);
  if (policy === "deactivate") {
    if (direction === "toApp" && !ctx.mapping.mapping.app.inactiveField) return void out.linkRemovals.push(link);
    op.kind = "deactivate";
  }
  out.deletes.push({ direction, op });
}

function fail(out: Decisions, direction: DirectionKey, recordId: string, e: unknown, payload: unknown): void {
  const err = isSyncError(e) ? e : new SyncError("permanent", ErrorCodes.Rejected, errorMessage(e), { cause: e });
  out.failures.push({ direction, recordId, code: err.code, message: err.message, retryable: err.retryable, payload });
}

function omit(values: Canonical, names: string[]): Canonical {
  const out: Canonical = { ...values };
  for (const n of names) delete out[n];
  return out;
}
