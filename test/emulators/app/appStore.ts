/**
 * The sample app's records: one sequence over all writes so the change feed is a simple
 * "everything with seq > cursor" scan; a write moves the record to the end of the feed.
 */
import { parseJson } from "../../../shared/http/exactJson.js";
import type { AppRecord, AppWriteResult } from "../../../shared/ports.js";

export interface StoredRecord extends AppRecord {
  /** The Dataverse id the sync told us about (POST/PATCH `dataverseId`). */
  dataverseId?: string;
  /** Position in the change feed (the latest write's sequence). */
  seq: number;
}

export interface FeedPage {
  records: AppRecord[];
  lastSeq: number;
  hasMore: boolean;
}

/**
 * An entity's change feed in sequence order: every write appends its sequence (ascending, since the
 * sequence only grows), and the record's earlier sequence is forgotten, so a page is a binary search
 * and a walk instead of a sort of the whole table (the sample app holds a million records in the
 * benchmarks).
 */
interface Feed {
  seqs: number[];
  /** Live positions: sequence -> record id (a superseded sequence is absent). */
  ids: Map<number, string>;
}

export class AppStore {
  private readonly entities = new Map<string, Map<string, StoredRecord>>();
  private readonly feeds = new Map<string, Feed>();
  /** Lower-cased dataverseId -> ids of the records that carried it (checked against the record on use). */
  private readonly byDataverseId = new Map<string, Map<string, Set<string>>>();
  /** Each entity's ids in the order they were first stored (records are never removed, only tombstoned). */
  private readonly order = new Map<string, string[]>();
  private sequence = 0;

  constructor(private readonly now: () => number) {}

  private table(entity: string): Map<string, StoredRecord> {
    let t = this.entities.get(entity);
    if (!t) this.entities.set(entity, (t = new Map()));
    return t;
  }

  /** The stored record, tombstones included. */
  find(entity: string, id: string): StoredRecord | undefined {
    return this.entities.get(entity)?.get(id);
  }

  live(entity: string, id: string): StoredRecord | undefined {
    const r = this.find(entity, id);
    return r && !r.deleted ? r : undefined;
  }

  list(entity: string, options: { includeDeleted?: boolean } = {}): StoredRecord[] {
    const all = [...(this.entities.get(entity)?.values() ?? [])];
    return all.filter((r) => options.includeDeleted || !r.deleted).map(clone);
  }

  ids(entity: string): string[] {
    return [...(this.entities.get(entity)?.keys() ?? [])];
  }

  /** The ids first stored after the `from` earliest ones: a caller that remembers how many it saw reads only the new ones. */
  idsFrom(entity: string, from: number): string[] {
    return (this.order.get(entity) ?? []).slice(from);
  }

  findByDataverseId(entity: string, dataverseId: string): StoredRecord | undefined {
    const wanted = dataverseId.toLowerCase();
    for (const id of this.byDataverseId.get(entity)?.get(wanted) ?? []) {
      const r = this.live(entity, id);
      if (r && r.dataverseId?.toLowerCase() === wanted) return r;
    }
    return undefined;
  }

  /** Creates or replaces a record's data (a tombstone is brought back). */
  put(entity: string, id: string, data: Record<string, unknown>, dataverseId?: string, updatedAt?: string): AppWriteResult {
    const previous = this.find(entity, id);
    return this.commit(entity, id, { ...data }, dataverseId ?? previous?.dataverseId, updatedAt);
  }

  /** Merges the given fields; undefined when the record does not exist or is deleted. */
  patch(entity: string, id: string, data: Record<string, unknown>, dataverseId?: string): AppWriteResult | undefined {
    const current = this.live(entity, id);
    if (!current) return undefined;
    const merged = { ...current.data, ...data };
    const changed = JSON.stringify(merged) !== JSON.stringify(current.data) || (dataverseId !== undefined && dataverseId !== current.dataverseId);
    // A write that changes nothing keeps its version, so it does not echo back through the feed.
    if (!changed) return { id, version: current.version, updatedAt: current.updatedAt };
    return this.commit(entity, id, merged, dataverseId ?? current.dataverseId);
  }

  /**
   * Test-only: merges fields the way a direct database write that bypassed the app would (a bulk
   * SQL update, a restore): no change-feed entry, same version and updatedAt. False when not live.
   */
  patchOutsideFeed(entity: string, id: string, data: Record<string, unknown>): boolean {
    const current = this.live(entity, id);
    if (!current) return false;
    this.table(entity).set(id, { ...current, data: { ...current.data, ...data } });
    return true;
  }

  /** Leaves a tombstone; false when already gone. */
  remove(entity: string, id: string): boolean {
    const current = this.live(entity, id);
    if (!current) return false;
    const seq = ++this.sequence;
    this.store(entity, { ...current, deleted: true, data: null, seq, version: versionOf(seq), updatedAt: this.timestamp() });
    return true;
  }

  /** Changes after `afterSeq`, oldest first. */
  changes(entity: string, afterSeq: number, limit: number): FeedPage {
    const feed = this.feeds.get(entity);
    const page: StoredRecord[] = [];
    let hasMore = false;
    if (feed) {
      // The first sequence above afterSeq, then the live ones in order.
      let lo = 0;
      let hi = feed.seqs.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (feed.seqs[mid] <= afterSeq) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < feed.seqs.length; i++) {
        const id = feed.ids.get(feed.seqs[i]);
        if (id === undefined) continue;
        if (page.length === limit) {
          hasMore = true;
          break;
        }
        page.push(this.find(entity, id)!);
      }
    }
    return { records: page.map(toAppRecord), lastSeq: page.length ? page[page.length - 1].seq : afterSeq, hasMore };
  }

  private commit(entity: string, id: string, data: Record<string, unknown>, dataverseId: string | undefined, updatedAt?: string): AppWriteResult {
    const seq = ++this.sequence;
    const record: StoredRecord = { id, version: versionOf(seq), updatedAt: updatedAt ?? this.timestamp(), deleted: false, data, seq };
    if (dataverseId !== undefined) record.dataverseId = dataverseId;
    this.store(entity, record);
    return { id, version: record.version, updatedAt: record.updatedAt };
  }

  /** Stores a write with its new sequence: the feed and the dataverseId index follow. */
  private store(entity: string, record: StoredRecord): void {
    const table = this.table(entity);
    let feed = this.feeds.get(entity);
    if (!feed) this.feeds.set(entity, (feed = { seqs: [], ids: new Map() }));
    const previous = table.get(record.id);
    if (previous) feed.ids.delete(previous.seq);
    else {
      let order = this.order.get(entity);
      if (!order) this.order.set(entity, (order = []));
      order.push(record.id);
    }
    feed.seqs.push(record.seq);
    feed.ids.set(record.seq, record.id);
    if (record.dataverseId !== undefined) {
      let index = this.byDataverseId.get(entity);
      if (!index) this.byDataverseId.set(entity, (index = new Map()));
      const key = record.dataverseId.toLowerCase();
      let ids = index.get(key);
      if (!ids) index.set(key, (ids = new Set()));
      ids.add(record.id);
    }
    table.set(record.id, record);
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString();
  }
}

/** Opaque to clients; derived from the global sequence so every write gets a new one. */
function versionOf(seq: number): string {
  return `v${seq.toString(36)}`;
}

export function toAppRecord(r: StoredRecord): AppRecord {
  return { id: r.id, version: r.version, updatedAt: r.updatedAt, deleted: r.deleted, data: r.data === null ? null : exactClone(r.data) };
}

function clone(r: StoredRecord): StoredRecord {
  return exactClone(r);
}

/**
 * A deep copy through JSON text with exact numbers: structuredClone would turn an ExactNumber (a
 * decimal a double cannot hold) into a plain Number and lose its digits. Records hold only JSON.
 */
export function exactClone<T>(value: T): T {
  return parseJson<T>(JSON.stringify(value));
}
