import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { Errors } from "./dataverseErrors.js";
import type { AlternateKeyDef, Schema, TableDef } from "./schema.js";
import type { ChangeEvent } from "./types.js";
import { isLookupValue, isoSeconds } from "./values.js";

export type Row = Readonly<Record<string, unknown>>;

export interface ChangeLogEntry {
  version: number;
  id: string;
  kind: "upsert" | "delete";
  at: number;
  /** Set when a transaction that wrote this entry rolled back. */
  cancelled?: boolean;
}

interface TableData {
  def: TableDef;
  rows: Map<string, Row>;
  /** Alternate key name -> composite key string -> row id. */
  keys: Map<string, Map<string, string>>;
  log: ChangeLogEntry[];
}

interface TxState {
  undo: (() => void)[];
  events: ChangeEvent[];
  correlationId: string;
}

/**
 * Rows per table with O(1) id and alternate-key lookups, an org-wide version counter, a per-table
 * change log for change tracking, and transactions whose undo log lives in AsyncLocalStorage so a
 * concurrent request outside the transaction is never rolled back with it.
 */
export class Store {
  private readonly data = new Map<string, TableData>();
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private readonly tx = new AsyncLocalStorage<TxState>();
  private version: number;
  /** Test-only: a change-tracking outage (writes land, but no delta ever reports them). */
  private untracked = false;

  constructor(readonly schema: Schema, private readonly now: () => number, startVersion = 1000) {
    this.version = startVersion;
    for (const def of schema.tables.values()) {
      this.data.set(def.logicalName, { def, rows: new Map(), keys: new Map(def.alternateKeys.map((k) => [k.name, new Map()])), log: [] });
    }
  }

  currentVersion(): number {
    return this.version;
  }

  /** Moves the version on without a write, so tokens issued before can be told from those after. */
  bumpVersion(): number {
    return ++this.version;
  }

  table(name: string): TableData | undefined {
    return this.data.get(name);
  }

  get(table: string, id: string): Row | undefined {
    return this.data.get(table)?.rows.get(id.toLowerCase());
  }

  rows(table: string): IterableIterator<Row> {
    return this.mustTable(table).rows.values();
  }

  findByKey(table: string, key: AlternateKeyDef, values: unknown[]): string | undefined {
    const s = keyString(values);
    return s === undefined ? undefined : this.mustTable(table).keys.get(key.name)?.get(s);
  }

  insert(table: string, values: Record<string, unknown>, userId: string, changed: Record<string, unknown>): Row {
    const t = this.mustTable(table);
    const id = String(values[t.def.primaryId]).toLowerCase();
    if (t.rows.has(id)) throw Errors.duplicateId();
    const at = this.now();
    const user = { id: userId, logicalName: "systemuser" };
    const row: Record<string, unknown> = { ...values, [t.def.primaryId]: id, createdon: isoSeconds(at), modifiedon: isoSeconds(at), createdby: user, modifiedby: user, versionnumber: ++this.version };
    this.checkKeys(t, row, undefined);
    this.put(t, id, row, undefined);
    this.logChange(t, id, "upsert", at, row.versionnumber as number);
    this.raise({ table, message: "Create", id, userId, changed: { ...changed, [t.def.primaryId]: id }, row, correlationId: "" });
    return row;
  }

  update(table: string, id: string, values: Record<string, unknown>, userId: string, changed: Record<string, unknown>): Row {
    const t = this.mustTable(table);
    const before = t.rows.get(id);
    if (!before) throw Errors.notFound(table, id);
    const at = this.now();
    const system = { modifiedon: isoSeconds(at), modifiedby: { id: userId, logicalName: "systemuser" }, versionnumber: ++this.version };
    const row: Record<string, unknown> = { ...before, ...values, ...system };
    this.checkKeys(t, row, id);
    this.put(t, id, row, before);
    this.logChange(t, id, "upsert", at, system.versionnumber);
    this.raise({ table, message: "Update", id, userId, changed: { ...changed, [t.def.primaryId]: id, ...system }, row, correlationId: "" });
    return row;
  }

  remove(table: string, id: string, userId: string): void {
    const t = this.mustTable(table);
    const before = t.rows.get(id);
    if (!before) throw Errors.notFound(table, id);
    this.put(t, id, undefined, before);
    this.logChange(t, id, "delete", this.now(), ++this.version);
    this.raise({ table, message: "Delete", id, userId, changed: {}, row: null, correlationId: "" });
  }

  /** Change-log entries newer than `version`, in version order (rolled-back ones left out). */
  changesSince(table: string, version: number): ChangeLogEntry[] {
    const log = this.mustTable(table).log;
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (log[mid].version <= version) lo = mid + 1;
      else hi = mid;
    }
    return log.slice(lo).filter((e) => !e.cancelled);
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  readonly transaction = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (this.tx.getStore()) return fn(); // nested: the outer transaction owns undo and events
    const state: TxState = { undo: [], events: [], correlationId: randomUUID() };
    let result: T;
    try {
      result = await this.tx.run(state, fn);
    } catch (err) {
      for (const undo of state.undo.reverse()) undo();
      throw err;
    }
    for (const e of state.events) this.emit(e);
    return result;
  };

  private put(t: TableData, id: string, row: Row | undefined, before: Row | undefined): void {
    this.index(t, id, row, before);
    if (row) t.rows.set(id, row);
    else t.rows.delete(id);
    this.tx.getStore()?.undo.push(() => {
      this.index(t, id, before, row);
      if (before) t.rows.set(id, before);
      else t.rows.delete(id);
    });
  }

  private index(t: TableData, id: string, row: Row | undefined, previous: Row | undefined): void {
    for (const k of t.def.alternateKeys) {
      const idx = t.keys.get(k.name)!;
      const old = previous ? keyString(k.columns.map((c) => previous[c])) : undefined;
      if (old !== undefined && idx.get(old) === id) idx.delete(old);
      const next = row ? keyString(k.columns.map((c) => row[c])) : undefined;
      if (next !== undefined) idx.set(next, id);
    }
  }

  private checkKeys(t: TableData, row: Row, selfId: string | undefined): void {
    for (const k of t.def.alternateKeys) {
      const s = keyString(k.columns.map((c) => row[c]));
      const owner = s === undefined ? undefined : t.keys.get(k.name)!.get(s);
      if (owner !== undefined && owner !== selfId) throw Errors.duplicateKey(k.name, k.columns);
    }
  }

  /** Simulates a change-tracking outage while `active`: rows change (and get new versions) without a change-log entry. */
  setChangeTrackingOutage(active: boolean): void {
    this.untracked = active;
  }

  private logChange(t: TableData, id: string, kind: ChangeLogEntry["kind"], at: number, version: number): void {
    if (this.untracked) return;
    const entry: ChangeLogEntry = { version, id, kind, at };
    t.log.push(entry);
    this.tx.getStore()?.undo.push(() => (entry.cancelled = true));
  }

  private raise(event: ChangeEvent): void {
    const state = this.tx.getStore();
    if (state) state.events.push({ ...event, correlationId: state.correlationId });
    else this.emit({ ...event, correlationId: randomUUID() });
  }

  private emit(event: ChangeEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A failing listener must not fail the write that already committed.
      }
    }
  }

  private mustTable(table: string): TableData {
    const t = this.data.get(table);
    if (!t) throw Errors.segment(table);
    return t;
  }
}

/** Composite, case-insensitive (like SQL's default collation) key; undefined when a part is null. */
export function keyString(values: unknown[]): string | undefined {
  const parts: unknown[] = [];
  for (const v of values) {
    if (v === null || v === undefined) return undefined;
    parts.push(isLookupValue(v) ? v.id.toLowerCase() : typeof v === "string" ? v.toLowerCase() : v);
  }
  return JSON.stringify(parts);
}

