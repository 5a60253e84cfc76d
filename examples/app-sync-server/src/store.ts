/**
 * ┌──────────────────────────────────────────────────────────────────────────────────────────┐
 * │ PLUG YOUR DATABASE IN HERE. `RecordStore` is everything the routes need; `MemoryStore` is │
 * │ the in-memory stand-in. Write a class that implements `RecordStore` over your tables and  │
 * │ pass it as `createAppSyncServer({ store })`. README.md lists the SQL each method needs.  │
 * └──────────────────────────────────────────────────────────────────────────────────────────┘
 */
import { randomUUID } from "node:crypto";
import { copyJson } from "./exactJson.js";

export type Data = Record<string, unknown>;

/** A record as the App Sync API shows it; `seq` is its place in the change feed. */
export interface StoredRecord {
  id: string;
  /** Opaque; must change with every write that changes the record. */
  version: string;
  /** ISO 8601 UTC; when the record last changed. */
  updatedAt: string;
  deleted: boolean;
  /** null for a tombstone. */
  data: Data | null;
  /** The Dataverse row id the sync linked this record to. */
  dataverseId?: string;
  /** Position of the record's latest change in the change feed (a sequence over all writes). */
  seq: number;
}

/** Conditional writes: what the store found instead of doing the write. */
export type WriteRefusal = "missing" | "stale";

export interface RecordStore {
  /**
   * Records (tombstones included) whose latest change is after `afterSeq`, oldest change first, at
   * most `limit`. SQL: `WHERE entity = $1 AND seq > $2 ORDER BY seq LIMIT $3 + 1`.
   */
  changes(entity: string, afterSeq: number, limit: number): Promise<{ records: StoredRecord[]; hasMore: boolean }>;
  /** The live record, or undefined when it never existed or is deleted. */
  get(entity: string, id: string): Promise<StoredRecord | undefined>;
  /**
   * Creates a record with a new id, unless a live record already carries `dataverseId`: then that
   * one is returned with `created: false` (a retried POST). In SQL a unique index on
   * `(entity, dataverse_id)` makes this hold under concurrent requests.
   */
  create(entity: string, data: Data, dataverseId: string | undefined): Promise<{ record: StoredRecord; created: boolean }>;
  /**
   * Merges `data` into the live record when its version is `ifVersion` (any version when undefined):
   * `UPDATE … SET …, version = $new, seq = nextval(…) WHERE id = $id AND version = $ifVersion`.
   * A write that changes nothing keeps the version and feed position, so it does not echo back.
   */
  update(entity: string, id: string, data: Data, dataverseId: string | undefined, ifVersion?: string): Promise<StoredRecord | WriteRefusal>;
  /** Turns the live record into a tombstone (kept for the change feed), under the same version rule. */
  remove(entity: string, id: string, ifVersion?: string): Promise<true | WriteRefusal>;
}

export interface SeedRecord {
  id: string;
  data: Data;
  dataverseId?: string;
  updatedAt?: string;
}

/** Records in memory, lost when the process ends. One sequence over all writes orders the feed. */
export class MemoryStore implements RecordStore {
  private readonly tables = new Map<string, Map<string, StoredRecord>>();
  private sequence = 0;

  /** `now` is the clock (tests pass a fixed one); `seed` goes in first, in order. */
  constructor(private readonly now: () => number = Date.now, seed: Record<string, SeedRecord[]> = {}) {
    for (const [entity, records] of Object.entries(seed)) {
      for (const r of records) this.commit(entity, { id: r.id, data: copyJson(r.data), dataverseId: r.dataverseId, updatedAt: r.updatedAt });
    }
  }

  async changes(entity: string, afterSeq: number, limit: number) {
    const after = [...this.table(entity).values()].filter((r) => r.seq > afterSeq).sort((a, b) => a.seq - b.seq);
    return { records: after.slice(0, limit).map(copyJson), hasMore: after.length > limit };
  }

  async get(entity: string, id: string) {
    const r = this.live(entity, id);
    return r && copyJson(r);
  }

  async create(entity: string, data: Data, dataverseId: string | undefined) {
    const existing = dataverseId === undefined ? undefined
      : [...this.table(entity).values()].find((r) => !r.deleted && r.dataverseId?.toLowerCase() === dataverseId.toLowerCase());
    if (existing) return { record: copyJson(existing), created: false };
    // Your database assigns ids its own way (a sequence, a UUID, a natural key); any string will do.
    return { record: copyJson(this.commit(entity, { id: randomUUID(), data: copyJson(data), dataverseId })), created: true };
  }

  async update(entity: string, id: string, data: Data, dataverseId: string | undefined, ifVersion?: string) {
    const current = this.live(entity, id);
    if (!current) return "missing" as const;
    if (ifVersion !== undefined && ifVersion !== current.version) return "stale" as const;
    const merged = copyJson({ ...current.data, ...data });
    const linked = dataverseId ?? current.dataverseId;
    if (JSON.stringify(merged) === JSON.stringify(current.data) && linked === current.dataverseId) return copyJson(current);
    return copyJson(this.commit(entity, { id, data: merged, dataverseId: linked }));
  }

  async remove(entity: string, id: string, ifVersion?: string) {
    const current = this.live(entity, id);
    if (!current) return "missing" as const;
    if (ifVersion !== undefined && ifVersion !== current.version) return "stale" as const;
    this.commit(entity, { id, data: null, dataverseId: current.dataverseId });
    return true as const;
  }

  private table(entity: string): Map<string, StoredRecord> {
    let t = this.tables.get(entity);
    if (!t) this.tables.set(entity, (t = new Map()));
    return t;
  }

  private live(entity: string, id: string): StoredRecord | undefined {
    const r = this.tables.get(entity)?.get(id);
    return r && !r.deleted ? r : undefined;
  }

  private commit(entity: string, r: { id: string; data: Data | null; dataverseId?: string; updatedAt?: string }): StoredRecord {
    const seq = ++this.sequence;
    const record: StoredRecord = {
      id: r.id, version: `v${seq.toString(36)}`, updatedAt: r.updatedAt ?? new Date(this.now()).toISOString(),
      deleted: r.data === null, data: r.data, seq, ...(r.dataverseId === undefined ? {} : { dataverseId: r.dataverseId }),
    };
    this.table(entity).set(r.id, record);
    return record;
  }
}
