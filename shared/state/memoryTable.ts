import { ErrorCodes, SyncError } from "../errors.js";
import { concurrencyError } from "./tableErrors.js";

export interface MemoryRow<T> {
  partitionKey: string;
  rowKey: string;
  value: T;
  etag: string;
}

let etagSeq = 0;

/**
 * One table of the memory fake: entities stored as JSON text (so values round-trip exactly as
 * through Table Storage), ETags that change on every write, and listing in key order, which is
 * the order Table Storage returns (keys are ASCII after encodeKey, so string order is the same).
 */
export class MemoryTable<T> {
  private readonly rows = new Map<string, { partitionKey: string; rowKey: string; json: string; etag: string }>();

  get(partitionKey: string, rowKey: string): MemoryRow<T> | null {
    const row = this.rows.get(slot(partitionKey, rowKey));
    return row ? { partitionKey, rowKey, value: JSON.parse(row.json) as T, etag: row.etag } : null;
  }

  /**
   * `ifMatch`: replace only when the current ETag matches (missing counts as changed);
   * `ifNotExists`: create only. Neither: upsert.
   */
  put(partitionKey: string, rowKey: string, value: T, options: { ifMatch?: string; ifNotExists?: boolean; what?: string } = {}): string {
    const key = slot(partitionKey, rowKey);
    const current = this.rows.get(key);
    const what = options.what ?? `${partitionKey}/${rowKey}`;
    if (options.ifMatch !== undefined && current?.etag !== options.ifMatch) throw concurrencyError(what);
    if (options.ifNotExists && current) {
      throw new SyncError("conflict", ErrorCodes.DuplicateKey, `${what}: it already exists`, { status: 409 });
    }
    const etag = `W/"m${++etagSeq}"`;
    this.rows.set(key, { partitionKey, rowKey, json: JSON.stringify(value), etag });
    return etag;
  }

  delete(partitionKey: string, rowKey: string, options: { ifMatch?: string; what?: string } = {}): void {
    const key = slot(partitionKey, rowKey);
    if (options.ifMatch !== undefined && this.rows.get(key)?.etag !== options.ifMatch) {
      throw concurrencyError(options.what ?? `${partitionKey}/${rowKey}`);
    }
    this.rows.delete(key);
  }

  list(where: (partitionKey: string, rowKey: string) => boolean): MemoryRow<T>[] {
    return [...this.rows.values()]
      .filter((r) => where(r.partitionKey, r.rowKey))
      .sort((a, b) => compare(a.partitionKey, b.partitionKey) || compare(a.rowKey, b.rowKey))
      .map((r) => ({ partitionKey: r.partitionKey, rowKey: r.rowKey, value: JSON.parse(r.json) as T, etag: r.etag }));
  }
}

function slot(partitionKey: string, rowKey: string): string {
  return `${partitionKey}\u0000${rowKey}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
