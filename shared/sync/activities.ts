import type { ActivityMapping, ActivityType } from "../config/activityMapping.js";
import { STANDARD_ACTIVITIES } from "../config/activityMapping.js";
import { checkGuid } from "../dataverse/odataUrl.js";
import { ErrorCodes, errorMessage, isSyncError } from "../errors.js";
import type { SyncConfig } from "../config/mapping.js";
import type { AppClient, AppRecord, BulkWrite, DataverseClient, SyncStateStore } from "../ports.js";
import { ownerBind, partyEmails, partyList, UserDirectory } from "./activityParties.js";
import type { RecordFailure } from "./decide.js";
import { deterministicGuid } from "./ids.js";
import type { Registry } from "./registry.js";
import { appToCanonical, canonicalToDataverseColumns } from "./values.js";

/**
 * `"kind": "activity"` mappings: the app's activities (append-only) become Dataverse activities
 * regarding their contact. Each app activity has a deterministic activity id; a batch first reads
 * which of its ids exist (and whether they are closed), creates the missing ones with their party
 * list, then closes those its type completes. A crash anywhere in between is repaired by doing the
 * same again: nothing is created twice and nothing is left open.
 */
export interface ActivityDeps {
  config: SyncConfig;
  dataverse: DataverseClient;
  app: AppClient;
  state: SyncStateStore;
  registry: Registry;
}

export interface ActivityOutcome {
  created: number;
  closed: number;
  skipped: number;
  failed: number;
  /** Records that did not go out (contact not linked yet, unknown type, a rejected write): pending. */
  failures: RecordFailure[];
  /** App ids that went out (their pending entries are cleared). */
  synced: string[];
  notes: string[];
  /** Dataverse requests this outcome took, as far as they are counted here (user look-ups, existence reads). */
  reads: number;
}

export const emptyActivityOutcome = (): ActivityOutcome => ({ created: 0, closed: 0, skipped: 0, failed: 0, failures: [], synced: [], notes: [], reads: 0 });

/** Ids per existence read (`activityid eq … or …`). */
const IDS_PER_READ = 50;

interface Planned {
  record: AppRecord;
  type: ActivityType;
  id: string;
  body: Record<string, unknown>;
}

/** The deterministic activity id of an app activity. */
export function activityIdOf(m: ActivityMapping, t: ActivityType, appId: string): string {
  return deterministicGuid(m.name, t.entitySet, appId);
}

/** Writes one batch of app activities (a page of the feed, or re-read pending records). */
export async function writeActivities(deps: ActivityDeps, m: ActivityMapping, records: AppRecord[], users: UserDirectory): Promise<ActivityOutcome> {
  const out = emptyActivityOutcome();
  const live = records.filter((r) => !r.deleted && r.data);
  out.skipped += records.length - live.length; // activities are append-only: a deleted one is left alone
  const queriesBefore = users.queries;
  await users.resolve(live.flatMap((r) => {
    const t = typeOf(m, r.data![m.app.typeField]);
    return t ? partyEmails(t, r.data!) : [];
  }));
  out.reads += users.queries - queriesBefore;
  const contacts = new Map<string, string | null>();
  const planned: Planned[] = [];
  for (const record of live) {
    let p: Planned | undefined;
    try {
      p = await plan(deps, m, record, users, contacts, out.notes);
    } catch (e) {
      fail(out, record.id, e, ErrorCodes.Unmappable);
      continue;
    }
    if (p) planned.push(p);
    else out.failures.push(pendingOf(record.id, ErrorCodes.UnresolvedLookup, `its contact (${m.regarding.mapping} ${String(record.data![m.regarding.appField])}) is not linked yet; it goes out once the contact syncs`));
  }
  const byType = new Map<ActivityType, Planned[]>();
  for (const p of planned) byType.set(p.type, [...(byType.get(p.type) ?? []), p]);
  for (const [t, items] of byType) await writeType(deps, t, items, out);
  return out;
}

/** The create body of one activity, or undefined when its contact is not linked yet. */
async function plan(deps: ActivityDeps, m: ActivityMapping, record: AppRecord, users: UserDirectory, contacts: Map<string, string | null>, notes: string[]): Promise<Planned | undefined> {
  const data = record.data!;
  const typeValue = String(data[m.app.typeField] ?? "");
  const t = typeOf(m, typeValue);
  if (!t) throw Object.assign(new Error(`its ${m.app.typeField} ${JSON.stringify(typeValue)} is none of the mapping's types (${Object.keys(m.types).join(", ")})`), { code: ErrorCodes.Unmappable });
  const contactAppId = data[m.regarding.appField];
  if (typeof contactAppId !== "string" || !contactAppId) throw new Error(`${m.regarding.appField} is empty: an activity needs its contact`);
  if (!contacts.has(contactAppId)) contacts.set(contactAppId, (await deps.state.getLinkByApp(m.regarding.mapping, contactAppId))?.dataverseId ?? null);
  const contactId = contacts.get(contactAppId);
  if (!contactId) return undefined;
  const contactSet = deps.config.mappings.find((r) => r.name === m.regarding.mapping)!.dataverse.entitySet;
  const body: Record<string, unknown> = {};
  for (const f of t.fields) {
    if (f.direction === "to-app") continue;
    Object.assign(body, canonicalToDataverseColumns(f, appToCanonical(f, f.app === "id" ? record.id : data[f.app], deps.registry), deps.registry));
  }
  body[`regardingobjectid_contact_${t.table}@odata.bind`] = `/${contactSet}(${checkGuid(contactId)})`;
  Object.assign(body, ownerBind(m));
  const partyNotes: string[] = [];
  const parties = partyList(t, data, { entitySet: contactSet, id: contactId }, users, partyNotes);
  for (const n of new Set(partyNotes)) notes.push(`${m.name}: activity ${record.id}: ${n}`);
  if (parties.length) body[`${t.table}_activity_parties`] = parties;
  const mapper = deps.registry.recordMapperFor(t.mapper);
  const final = mapper?.toDataverse ? mapper.toDataverse({ ...data, id: record.id }, body) : body;
  return { record, type: t, id: activityIdOf(m, t, record.id), body: final };
}

/** Reads which ids exist, creates the missing ones, closes the ones to complete that are still open. */
async function writeType(deps: ActivityDeps, t: ActivityType, items: Planned[], out: ActivityOutcome): Promise<void> {
  const existing = await readStates(deps.dataverse, t, items.map((p) => p.id), out);
  const written = new Set<string>();
  const creates: BulkWrite[] = items.filter((p) => !existing.has(p.id)).map((p) => ({ ref: p.id, kind: "create", id: p.id, body: p.body }));
  const failedIds = new Set<string>();
  const byId = new Map(items.map((p) => [p.id, p]));
  if (creates.length) {
    for (const r of await deps.dataverse.writeMany(t.entitySet, t.table, creates, { primaryId: "activityid" })) {
      if (r.ok) {
        out.created += 1;
        written.add(r.ref);
        existing.set(r.ref, 0);
      } else {
        failedIds.add(r.ref);
        fail(out, byId.get(r.ref)!.record.id, r.error, isSyncError(r.error) ? r.error.code : ErrorCodes.Unmappable);
      }
    }
  }
  const close = t.close ?? STANDARD_ACTIVITIES[t.table]?.close;
  const toClose = t.complete && close ? items.filter((p) => existing.get(p.id) === 0 && !failedIds.has(p.id)) : [];
  if (toClose.length) {
    const updates: BulkWrite[] = toClose.map((p) => ({ ref: p.id, kind: "update", id: p.id, body: { statecode: close!.state, statuscode: close!.status } }));
    for (const r of await deps.dataverse.writeMany(t.entitySet, t.table, updates, { primaryId: "activityid" })) {
      if (r.ok) {
        out.closed += 1;
        written.add(r.ref);
      } else {
        failedIds.add(r.ref);
        fail(out, byId.get(r.ref)!.record.id, r.error, isSyncError(r.error) ? r.error.code : ErrorCodes.Unmappable);
      }
    }
  }
  for (const p of items) {
    if (failedIds.has(p.id)) continue;
    out.synced.push(p.record.id);
    if (!written.has(p.id)) out.skipped += 1;
  }
}

/** statecode of the activities among `ids` that exist already (a retry, or a crash before the close). */
async function readStates(dataverse: DataverseClient, t: ActivityType, ids: string[], out: ActivityOutcome): Promise<Map<string, number>> {
  const states = new Map<string, number>();
  for (let i = 0; i < ids.length; i += IDS_PER_READ) {
    const filter = ids.slice(i, i + IDS_PER_READ).map((id) => `activityid eq ${checkGuid(id)}`).join(" or ");
    out.reads += 1;
    for await (const rows of dataverse.query(t.entitySet, { select: ["activityid", "statecode"], filter })) {
      for (const row of rows) states.set(String(row.activityid).toLowerCase(), Number(row.statecode));
    }
  }
  return states;
}

/** The mapping's entry for an app type value (own keys only: a type named "constructor" is no type). */
function typeOf(m: ActivityMapping, value: unknown): ActivityType | undefined {
  const key = String(value ?? "");
  return Object.hasOwn(m.types, key) ? m.types[key] : undefined;
}

function pendingOf(appId: string, code: string, message: string, retryable = true): RecordFailure {
  return { direction: "toDataverse", recordId: appId, appId, code, message, retryable, payload: { appId } };
}

function fail(out: ActivityOutcome, appId: string, e: unknown, code: string): void {
  out.failed += 1;
  const retryable = isSyncError(e) ? e.retryable : false;
  out.failures.push(pendingOf(appId, (e as { code?: string }).code ?? code, errorMessage(e), retryable));
}
