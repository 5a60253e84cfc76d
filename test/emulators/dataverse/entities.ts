import { randomUUID } from "node:crypto";
import { checkClosed, refuseDirectPartyCreate, takeParties, type PartyInput } from "./activities.js";
import { Errors } from "./dataverseErrors.js";
import { parseResourcePath, type KeyPart } from "./odata/keys.js";
import { applyComputed, applyStateStatus, checkRequired, convertBody, type BindResolver } from "./payload.js";
import { isLookupType, type AlternateKeyDef, type TableDef } from "./schema.js";
import type { Row, Store } from "./store.js";
import type { EntityOps, LookupValue } from "./types.js";
import { toStoredValue } from "./values.js";

export interface ResolvedKey {
  /** The row id when the row exists. */
  id?: string;
  /** Set when the key is an alternate key rather than the primary id. */
  alternateKey?: AlternateKeyDef;
  /** Column -> value as given in the URL (lookups by `_x_value` mapped to the column name). */
  columns: Record<string, unknown>;
}

/** Weak ETag of a row, which Dataverse derives from `versionnumber`. */
export function etagOf(row: Row): string {
  return `W/"${String(row.versionnumber)}"`;
}

function sameEtag(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
  return norm(a) === norm(b);
}

/** Row-level operations with full Dataverse validation, shared by the HTTP routes and the extras. */
export class Entities implements EntityOps {
  constructor(private readonly store: Store) {}

  def(table: string): TableDef {
    const def = this.store.schema.tables.get(table);
    if (!def) throw Errors.segment(table);
    return def;
  }

  tableForEntitySet(entitySet: string): string | undefined {
    return this.store.schema.bySet.get(entitySet)?.logicalName;
  }

  parseRecordUrl(url: string): { table: string; key: Record<string, unknown> } | undefined {
    let path = url.trim();
    const abs = /^https?:\/\/[^/]+(\/.*)$/i.exec(path);
    if (abs) path = abs[1];
    path = path.replace(/^\/?api\/data\/v9\.\d\//i, "").replace(/^\//, "");
    try {
      path = decodeURIComponent(path);
    } catch {
      return undefined;
    }
    const rp = parseResourcePath(path);
    const def = rp ? this.store.schema.bySet.get(rp.entitySet) : undefined;
    if (!rp || !rp.key || rp.rest.length || !def) return undefined;
    return { table: def.logicalName, key: keyRecord(def, rp.key) };
  }

  /** Checks the key names against the primary id and the alternate keys, then looks the row up. */
  resolveKey(def: TableDef, key: Record<string, unknown>): ResolvedKey {
    const columns: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(key)) {
      const m = /^_(.+)_value$/.exec(name);
      const col = m && def.columnMap.get(m[1]) && isLookupType(def.columnMap.get(m[1])!.type) ? m[1] : name;
      columns[col] = value;
    }
    const names = Object.keys(columns);
    if (names.length === 1 && names[0] === def.primaryId) {
      const id = String(columns[def.primaryId]).toLowerCase();
      return { id: this.store.get(def.logicalName, id) ? id : undefined, columns: { [def.primaryId]: id } };
    }
    const alternateKey = def.alternateKeys.find((k) => k.columns.length === names.length && k.columns.every((c) => c in columns));
    if (!alternateKey) throw Errors.invalidKey(def.logicalName);
    return { id: this.store.findByKey(def.logicalName, alternateKey, alternateKey.columns.map((c) => columns[c])), alternateKey, columns };
  }

  create(table: string, body: Record<string, unknown>, userId: string): string {
    const def = this.def(table);
    refuseDirectPartyCreate(table);
    const rest = { ...body };
    const parties = takeParties(table, rest, (url, nav) => this.bind(url, nav, this.def("activityparty").navMap.get(nav)!.column, nav.slice("partyid_".length)));
    const { values, id: givenId } = convertBody(def, rest, this.bind);
    const id = givenId ?? randomUUID();
    if (this.store.get(table, id)) throw Errors.duplicateId();
    this.insertValues(def, id, values, userId);
    if (parties) this.insertParties(table, id, parties, userId);
    return id;
  }

  update(table: string, id: string, body: Record<string, unknown>, userId: string, options: { ifMatch?: string } = {}): void {
    const def = this.def(table);
    const existing = this.existing(def, id, options.ifMatch);
    checkClosed(table, existing, body);
    const { values } = convertBody(def, body, this.bind);
    this.updateValues(def, id.toLowerCase(), existing, values, userId);
  }

  upsert(table: string, key: Record<string, unknown>, body: Record<string, unknown>, userId: string): { id: string; created: boolean } {
    const def = this.def(table);
    const resolved = this.resolveKey(def, key);
    const { values, id: bodyId } = convertBody(def, body, this.bind);
    if (resolved.id) {
      checkClosed(table, this.store.get(table, resolved.id)!, body);
      // Key columns named in the URL cannot be changed through an upsert: Dataverse drops them.
      for (const c of Object.keys(resolved.columns)) delete values[c];
      this.updateValues(def, resolved.id, this.store.get(table, resolved.id)!, values, userId);
      return { id: resolved.id, created: false };
    }
    for (const [c, v] of Object.entries(resolved.columns)) {
      if (c === def.primaryId || c in values) continue;
      const column = def.columnMap.get(c)!;
      values[c] = isLookupType(column.type) ? { id: String(v).toLowerCase(), logicalName: column.targets?.[0] ?? "" } : toStoredValue(def, column, v);
    }
    const id = (resolved.columns[def.primaryId] as string | undefined) ?? bodyId ?? randomUUID();
    this.insertValues(def, id, values, userId);
    return { id, created: true };
  }

  delete(table: string, id: string, userId: string, options: { ifMatch?: string } = {}): void {
    const def = this.def(table);
    this.existing(def, id, options.ifMatch);
    this.store.remove(table, id.toLowerCase(), userId);
  }

  /** The row, or 404; with `ifMatch` (other than `*`) a stale ETag gives 412. */
  existing(def: TableDef, id: string, ifMatch?: string): Row {
    const row = this.store.get(def.logicalName, id);
    if (!row) throw Errors.notFound(def.logicalName, id);
    if (ifMatch && ifMatch.trim() !== "*" && !sameEtag(ifMatch, etagOf(row))) throw Errors.concurrency();
    return row;
  }

  /** A deep-inserted party list, stored as activityparty rows of the new activity. */
  private insertParties(table: string, activityId: string, parties: PartyInput[], userId: string): void {
    const def = this.def("activityparty");
    for (const p of parties) {
      const values: Record<string, unknown> = { activityid: { id: activityId, logicalName: table }, participationtypemask: p.participationtypemask };
      if (p.party) values.partyid = p.party;
      if (p.addressused !== undefined) values.addressused = p.addressused;
      this.insertValues(def, randomUUID(), values, userId);
    }
  }

  private insertValues(def: TableDef, id: string, values: Record<string, unknown>, userId: string): void {
    const changed = { ...values };
    if (def.columnMap.get("ownerid") && !values.ownerid) values.ownerid = { id: userId, logicalName: "systemuser" };
    applyStateStatus(def, values, undefined, id);
    applyComputed(def, values, undefined);
    checkRequired(def, values, true);
    const full: Record<string, unknown> = {};
    for (const c of def.columns) full[c.name] = values[c.name] ?? null;
    full[def.primaryId] = id;
    this.store.insert(def.logicalName, full, userId, { ...changed, ...pick(values, ["statecode", "statuscode", "ownerid"]) });
  }

  private updateValues(def: TableDef, id: string, existing: Row, values: Record<string, unknown>, userId: string): void {
    delete values[def.primaryId];
    applyStateStatus(def, values, existing, id);
    applyComputed(def, values, existing);
    checkRequired(def, values, false);
    this.store.update(def.logicalName, id, values, userId, { ...values });
  }

  private readonly bind: BindResolver = (url, property, column, target): LookupValue => {
    const parsed = this.parseRecordUrl(url);
    if (!parsed || !(column.targets ?? []).includes(parsed.table) || (target && target !== parsed.table)) throw Errors.invalidBind(url, property);
    const targetDef = this.def(parsed.table);
    let resolved: ResolvedKey;
    try {
      resolved = this.resolveKey(targetDef, parsed.key);
    } catch {
      throw Errors.invalidBind(url, property);
    }
    if (!resolved.id) {
      if (resolved.alternateKey) throw Errors.keyNotFound(parsed.table);
      throw Errors.notFound(parsed.table, String(resolved.columns[targetDef.primaryId]));
    }
    return { id: resolved.id, logicalName: parsed.table };
  };
}

export function keyRecord(def: TableDef, parts: KeyPart[]): Record<string, unknown> {
  return Object.fromEntries(parts.map((p) => [p.name ?? def.primaryId, p.value]));
}

function pick(values: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((n) => n in values).map((n) => [n, values[n]]));
}
