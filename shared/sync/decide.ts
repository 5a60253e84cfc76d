import { ErrorCodes, SyncError, errorMessage, isSyncError } from "../errors.js";
import type { AppRecord, Canonical, ConflictRecord, DataverseRow, DirectionKey, Divergence, Link } from "../ports.js";
import { noteDivergence } from "./reconcile.js";
import { hash32Canonical, hashCanonical } from "./hash.js";
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
  /**
   * A complete read of Dataverse did not see the linked row. It is gone only once a read by id
   * confirms it (planner.ts readDataverseSides): a row created during the read, and linked since
   * (a webhook notice), is not in the read, and taken for deleted it would delete a live record.
   */
  dvUnseen?: boolean;
  /**
   * A row without a link of its own whose key names an app record that is linked to another row:
   * that link. The row is a duplicate, never a new record (see holdDuplicate).
   */
  duplicateOf?: Link;
}

export interface RecordFailure {
  direction: DirectionKey;
  recordId: string;
  /** Both ids when known, so a later run can re-read the record on both sides. */
  appId?: string;
  dataverseId?: string;
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
  /** Deletes the delete policy left alone (the link is dropped, nothing is written), per direction. */
  ignored: { toDataverse: number; toApp: number };
  conflicts: number;
  parked: ConflictRecord[];
  failures: RecordFailure[];
  /**
   * Records that are not failures but whose change could not go out yet (the other side is outside
   * its filter, or a manual conflict is parked): kept pending, tried again by later runs.
   */
  pending: RecordFailure[];
  /** Reconcile runs: records whose sides disagreed, by field (before any repair). */
  divergence: Divergence;
}

export function emptyDecisions(): Decisions {
  return { toDataverse: [], toApp: [], deletes: [], linkUpdates: [], linkRemovals: [], skipped: { toDataverse: 0, toApp: 0 }, ignored: { toDataverse: 0, toApp: 0 }, conflicts: 0, parked: [], failures: [], pending: [], divergence: { records: 0, fields: {} } };
}

export interface DecideContext {
  mapping: CompiledMapping;
  lookups: LookupResolver;
  selfUserId: string;
  runId: string;
  now: () => string;
  /** true when both sides were just read fresh (webhook refresh): compare each with the base. */
  fresh?: boolean;
  /** A reconcile run: every pair also counts toward the run's divergence (reconcile.ts). */
  reconcile?: boolean;
  /** Planning only: the mapping's pending records, as `a:<appId>` and `d:<dataverseId>`. */
  pending?: Set<string>;
}

const isSelf = (ctx: DecideContext, row: DataverseRow) => ctx.selfUserId !== "" && row["_modifiedby_value"] === ctx.selfUserId;

/**
 * A row whose last change is our own write and that the mapping's Dataverse filter accepts may be an
 * echo: the first 32 bits of its mapped values' hash, which the planner compares with its link's
 * hash (an echo only when they are equal: a person's edit just before our write, or a plug-in's
 * change during it, makes them differ). undefined: not an echo candidate, plan the row as it is.
 */
export function echoHashOf(ctx: DecideContext, row: DataverseRow): number | undefined | Promise<number | undefined> {
  if (ctx.fresh || !isSelf(ctx, row) || !ctx.mapping.acceptsDataverse(row)) return undefined;
  return mappedHash32(ctx, row);
}

/**
 * The first 32 bits of the hash of a row's mapped values, comparable with `hash32(link.hash)`;
 * undefined when a value cannot be mapped.
 */
export function mappedHash32(ctx: DecideContext, row: DataverseRow): number | undefined | Promise<number | undefined> {
  try {
    // Without an await when the row's lookups are known already (nearly every row of a large delta).
    const now = ctx.mapping.dataverseToCanonicalNow(row, ctx.lookups);
    if (now) return hash32Canonical(now);
  } catch {
    return undefined; // a value that cannot be mapped is reported when the row is decided
  }
  return ctx.mapping.dataverseToCanonical(row, ctx.lookups).then(hash32Canonical, () => undefined);
}

/** The first 32 bits of a canonical hash (hex sha256), as the echo check keeps it. */
export const hash32 = (hash: string): number => Number.parseInt(hash.slice(0, 8), 16) >>> 0;

export async function decidePair(ctx: DecideContext, pair: Pair, out: Decisions): Promise<void> {
  const m = ctx.mapping;
  if (pair.link?.pendingCreate) {
    // A create that may not have landed: with its row it is matched afresh (no base); without it,
    // it is planned again (same deterministic id), never taken for a delete.
    if (pair.dvGone || !pair.dv) Object.assign(pair, { dvGone: false, dv: undefined, link: undefined });
  }
  if (pair.duplicateOf && pair.dv && !pair.link) return holdDuplicate(ctx, pair.dv, pair.duplicateOf, out);
  const { link } = pair;
  const dvId = pair.dv ? String(pair.dv[m.primaryId]) : link?.dataverseId;
  const appId = pair.app?.id ?? link?.appId;

  if (pair.appGone || pair.dvGone) {
    if (!link) return; // a record that was never synced went away: nothing to do
    if (ctx.reconcile) noteDivergence(ctx, pair, undefined, undefined, out); // one side gone: it diverged (reconcile.ts)
    if (pair.appGone && pair.dvGone) out.linkRemovals.push(link);
    // A full read finds the row gone again, but the app record was deactivated already (appWriter keeps the link).
    else if (pair.dvGone && pair.app && isAppInactive(m, pair.app)) out.skipped.toApp += 1;
    else planDelete(ctx, pair.appGone ? "toDataverse" : "toApp", link, out, pair);
    return;
  }
  if (pair.app && !m.acceptsApp(pair.app)) {
    out.skipped.toDataverse += 1;
    return holdFiltered(ctx, pair, "toApp", appId, dvId, out);
  }
  if (pair.dv && !m.acceptsDataverse(pair.dv)) {
    out.skipped.toApp += 1;
    return holdFiltered(ctx, pair, "toDataverse", appId, dvId, out);
  }

  let appVals: Canonical | undefined;
  let dvVals: Canonical | undefined;
  try {
    if (pair.app) appVals = m.appToCanonical(pair.app);
  } catch (e) {
    return fail(out, "toDataverse", appId ?? "?", e, { side: "app", appId, dataverseId: dvId }, { appId, dataverseId: dvId });
  }
  try {
    if (pair.dv) dvVals = await m.dataverseToCanonical(pair.dv, ctx.lookups);
  } catch (e) {
    return fail(out, "toApp", dvId ?? "?", e, { side: "dataverse", appId, dataverseId: dvId }, { appId, dataverseId: dvId });
  }

  const base = link?.pendingCreate ? undefined : link?.base;
  // A field a side did not give (absent from the app's data or from the row's JSON) is no value
  // given, not null: it holds what was synced last or, with nothing synced yet, the other side's value.
  if (appVals) appVals = withGiven(appVals, m, [base, dvVals]);
  if (dvVals) dvVals = withGiven(dvVals, m, [base, appVals]);
  // Reconcile runs count what disagreed before deciding (the decision below repairs it).
  if (ctx.reconcile) noteDivergence(ctx, pair, appVals, dvVals, out);
  if (link || (appVals && dvVals)) {
    // Each side that was read is compared with the base field by field: a row last written by our
    // own user counts as changed where its values differ from what we wrote (echoes by content).
    // A side that was not read holds the base; with no base yet (a create intent), it holds the
    // other side's values: never "every field null", which a strategy would then copy over real values.
    const appSide = appVals ? { values: appVals, changedAt: pair.app!.updatedAt, changed: true } : { values: base ?? dvVals ?? {}, changed: false };
    const dvSide = dvVals
      ? { values: dvVals, changedAt: String(pair.dv!["modifiedon"] ?? ""), changed: true }
      : { values: base ?? appVals ?? {}, changed: false };
    const merge = mergeRecord(m.mergeFields, m.mapping.conflict.strategy, appSide, dvSide, base);
    emitMerge(ctx, pair, appId!, dvId!, merge, out);
    return;
  }
  if (appVals) return planCreate(ctx, "toDataverse", appId!, undefined, appVals, out, pair.app?.updatedAt, pair.app?.version);
  // Under `deactivate` an inactive row stands for a deleted record (often one we deactivated): not a new one.
  if (dvVals && m.mapping.deletes === "deactivate" && isInactive(pair.dv!)) return void (out.skipped.toApp += 1);
  if (dvVals) return planCreate(ctx, "toApp", undefined, dvId!, dvVals, out, pair.dv?.["modifiedon"]);
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
    // Parked, the record's changes (the non-conflicting ones too) wait with it: pending until resolved.
    out.pending.push({
      direction: pair.app ? "toDataverse" : "toApp", recordId: pair.app ? appId : dataverseId, appId, dataverseId,
      code: ErrorCodes.ConflictParked, message: `${ctx.mapping.name}: conflict on ${merge.conflicts.map((c) => c.field).join(", ")} parked for review (manual strategy)`,
      retryable: true, payload: { side: pair.app ? "app" : "dataverse", appId, dataverseId },
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
  // A pair made here by key (no link yet) is linked by a claim: refused when a writer linked the app record to another row meanwhile.
  const linkTerms = { ...(sameIds && !(toDv.length && toApp.length) ? { fullBase: true } : {}), ...(link ? {} : { pairedByKey: true }) };
  if (toDv.length) {
    const base = toApp.length ? omit(merge.base, toApp) : merge.base;
    out.toDataverse.push({ kind: "update", appId, dataverseId, values: merge.toDataverse, base, appVersion, dataverseVersion: dvVersion, attempt: 0, ...linkTerms, ...changedAt(pair.app?.updatedAt) });
  } else if (pair.app) out.skipped.toDataverse += 1;
  if (toApp.length) {
    const base = toDv.length ? pick(merge.base, toApp) : merge.base;
    out.toApp.push({ kind: "update", appId, dataverseId, values: merge.toApp, base, appVersion: pair.app?.version, dataverseVersion: dvVersion, attempt: 0, ...linkTerms, ...changedAt(pair.dv?.["modifiedon"]) });
  } else if (pair.dv) out.skipped.toApp += 1;
  if (!toDv.length && !toApp.length) {
    // The Dataverse version alone is not worth a write: our own writes change it (their echoes come
    // back in the next delta) and nothing relies on it (updates use If-Match: *). The app version is
    // sent as If-Match, so it is kept current.
    const changed = !link || !canonicalEquals(link.base, merge.base) || link.appVersion !== appVersion;
    if (changed) {
      out.linkUpdates.push({
        mapping: ctx.mapping.name, appId, dataverseId, base: merge.base, hash: hashCanonical(merge.base),
        appVersion, dataverseVersion: dvVersion, lastSyncedAt: ctx.now(), ...(link ? { etag: link.etag } : { claim: true }),
      });
    }
  }
}

/** When the source changed (the app's updatedAt, the row's modifiedon): the start of the write's sync lag. */
const changedAt = (at: unknown): { changedAt?: string } => (typeof at === "string" && at ? { changedAt: at } : {});

function planCreate(ctx: DecideContext, direction: DirectionKey, appId: string | undefined, dataverseId: string | undefined, values: Canonical, out: Decisions, sourceChangedAt?: unknown, appVersion?: string): void {
  const m = ctx.mapping;
  const target = direction === "toDataverse" ? "dataverse" : "app";
  const writable = m.writableTo(target);
  // Records are created only in the direction of the mapping: the `to-app` fields of a `to-dataverse`
  // mapping (values Dataverse fills in, fillIns.ts) follow its records, they bring none of their own.
  const oneWayAway = m.mapping.direction === (direction === "toDataverse" ? "to-app" : "to-dataverse");
  if (!writable.length || oneWayAway) return void (out.skipped[direction] += 1);
  const written = pick(values, writable);
  const base: Canonical = Object.fromEntries(m.fields.map((f) => [f.app, null]));
  Object.assign(base, written);
  if (direction === "toDataverse") {
    if (!m.keyOf(values)) {
      const keys = m.keyFields.map((f) => f.app).join(", ");
      return fail(out, direction, appId!, new SyncError("permanent", ErrorCodes.Rejected, `${m.name}: app record ${appId} has no value for the key field(s) ${keys}, so it cannot be matched in Dataverse`), { side: "app", appId });
    }
    const id = deterministicGuid(m.name, m.mapping.dataverse.entitySet, appId!);
    // The app version it was read at goes into the link: a later Dataverse edit can be written to the app at it (refresh.ts).
    out.toDataverse.push({ kind: "create", appId, dataverseId: id, values: written, base, attempt: 0, ...(appVersion !== undefined ? { appVersion } : {}), ...changedAt(sourceChangedAt) });
  } else {
    out.toApp.push({ kind: "create", dataverseId, values: written, base, attempt: 0, ...changedAt(sourceChangedAt) });
  }
}

function planDelete(ctx: DecideContext, direction: DirectionKey, link: Link, out: Decisions, pair: Pair): void {
  const policy = ctx.mapping.mapping.deletes;
  // The Dataverse version the decision saw (a delete or deactivation of a row edited since is re-decided).
  const dataverseVersion = pair.dv ? String(pair.dv["@odata.etag"] ?? "") || undefined : link.dataverseVersion;
  const op: WriteOp = { kind: "delete", appId: link.appId, dataverseId: link.dataverseId, values: {}, base: {}, attempt: 0, ...(dataverseVersion ? { dataverseVersion } : {}) };
  const ignore = () => {
    out.ignored[direction] += 1;
    out.linkRemovals.push(link);
  };
  if (policy === "ignore") return ignore();
  if (policy === "deactivate") {
    if (direction === "toApp" && !ctx.mapping.mapping.app.inactiveField) return ignore();
    op.kind = "deactivate";
  }
  out.deletes.push({ direction, op });
}

function fail(out: Decisions, direction: DirectionKey, recordId: string, e: unknown, payload: unknown, ids: { appId?: string; dataverseId?: string } = {}): void {
  const err = isSyncError(e) ? e : new SyncError("permanent", ErrorCodes.Rejected, errorMessage(e), { cause: e });
  out.failures.push({ direction, recordId, ...definedIds(ids), code: err.code, message: err.message, retryable: err.retryable, payload });
}

function definedIds(ids: { appId?: string; dataverseId?: string }): { appId?: string; dataverseId?: string } {
  return { ...(ids.appId ? { appId: ids.appId } : {}), ...(ids.dataverseId ? { dataverseId: ids.dataverseId } : {}) };
}

/**
 * A Dataverse row that holds the key of an app record linked to another row is not a record of its
 * own. Our writers make such a row when a plan races a Dataverse-born record's app create (a second
 * plan creates the new app record in Dataverse: appWriter.ts), and delete it again (dropDuplicate,
 * resolveDuplicateKey). A plan that reads it in between must neither create it in the app (a second
 * app record, whose key write-back would take the row over) nor pair it with that app record. It is
 * kept pending: later runs read it again, and the entry goes once the row is gone. A row that stays
 * (one a person gave that key) is a clash for an operator to settle.
 */
function holdDuplicate(ctx: DecideContext, row: DataverseRow, linked: Link, out: Decisions): void {
  const m = ctx.mapping;
  const dataverseId = String(row[m.primaryId]);
  out.skipped.toApp += 1;
  out.pending.push(duplicateRow(dataverseId, `${m.name}: Dataverse row ${dataverseId} holds the key of app record ${linked.appId}, which is linked to row ${linked.dataverseId}; `
    + "it is not created in the app. A second row made by a sync race is deleted by the writer that made it; a row given this key by hand is a clash to settle (delete the row or clear its key)"));
}

/**
 * A pairing made by key whose link claim was refused: the app record was linked to another row
 * while the pair was decided, so this row is a duplicate (see holdDuplicate). Kept pending.
 */
export function refusedPairing(mapping: string, link: Link): RecordFailure {
  return duplicateRow(link.dataverseId, `${mapping}: Dataverse row ${link.dataverseId} was matched by key with app record ${link.appId}, which was linked to another row meanwhile; the row is not linked`);
}

/** The pending entry of a duplicate row (DUPLICATE_ROW), kept under the row's id. */
function duplicateRow(dataverseId: string, message: string): RecordFailure {
  return { direction: "toApp", recordId: dataverseId, dataverseId, code: ErrorCodes.DuplicateRow, message, retryable: true, payload: { side: "dataverse", dataverseId } };
}

/**
 * One side is outside its mapping filter. When the record is linked and the other side brings a
 * change, that change is kept pending (FILTERED) instead of being dropped: later runs re-read the
 * record, and it goes out once the filter matches again.
 */
async function holdFiltered(ctx: DecideContext, pair: Pair, direction: DirectionKey, appId: string | undefined, dvId: string | undefined, out: Decisions): Promise<void> {
  const { link } = pair;
  if (!link) return; // never synced: outside the filter means out of scope
  const m = ctx.mapping;
  let changed = false;
  try {
    const read = direction === "toApp"
      ? (pair.dv ? await m.dataverseToCanonical(pair.dv, ctx.lookups) : undefined)
      : (pair.app ? m.appToCanonical(pair.app) : undefined);
    const other = read && withGiven(read, m, [link.base]);
    // Only fields that may travel in the held direction: a one-way mapping holds nothing back.
    const fields = m.writableTo(direction === "toApp" ? "app" : "dataverse");
    changed = other !== undefined && fields.length > 0 && !canonicalEquals(pick(other, fields), pick(link.base, fields));
  } catch {
    changed = true; // cannot tell: keep it pending rather than lose it
  }
  if (!changed) return;
  const filtered = direction === "toApp" ? "app record is outside app.filter" : "Dataverse row is outside dataverse.filter";
  out.pending.push({
    direction, recordId: direction === "toDataverse" ? (appId ?? "?") : (dvId ?? "?"), ...definedIds({ appId, dataverseId: dvId }),
    code: ErrorCodes.Filtered, message: `${m.name}: the ${filtered}; the other side's change waits until it matches again`,
    retryable: true, payload: { side: direction === "toApp" ? "dataverse" : "app", appId, dataverseId: dvId },
  });
}

/** `values` with each mapped field it lacks taken from the first of `sources` that has it. */
function withGiven(values: Canonical, m: CompiledMapping, sources: (Canonical | undefined)[]): Canonical {
  let out = values;
  for (const f of m.mergeFields) {
    if (Object.hasOwn(values, f.name)) continue;
    const from = sources.find((s) => s && Object.hasOwn(s, f.name));
    if (!from) continue;
    if (out === values) out = { ...values };
    out[f.name] = from[f.name];
  }
  return out;
}

function omit(values: Canonical, names: string[]): Canonical {
  const out: Canonical = { ...values };
  for (const n of names) delete out[n];
  return out;
}
