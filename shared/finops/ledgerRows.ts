import type { TableClient } from "@azure/data-tables";
import { ErrorCodes, SyncError } from "../errors.js";
import { MemoryTable } from "../state/memoryTable.js";
import { translateStorageError } from "../state/tableErrors.js";
import { deleteIfExists, getOrNull, requireEtag, wrap } from "../state/tableSupport.js";

/**
 * The few row operations the F&O ledger needs, on Table Storage or in memory (the two pass one
 * contract test): point read, conditional create, compare-and-set, upsert, delete, and a range of
 * row keys by prefix in key order. A row's value is JSON in one column.
 */
export interface LedgerRows {
  get<T>(pk: string, rk: string): Promise<{ value: T; etag: string } | null>;
  /** Creates only; an existing row throws SyncError DUPLICATE_KEY. */
  create<T>(pk: string, rk: string, value: T): Promise<string>;
  /** Replaces only while the row still has `etag`; otherwise SyncError CONCURRENCY. */
  replace<T>(pk: string, rk: string, value: T, etag: string): Promise<string>;
  upsert<T>(pk: string, rk: string, value: T): Promise<void>;
  delete(pk: string, rk: string): Promise<void>;
  /** Rows whose key starts with `prefix`, in key order, at most `limit`. */
  list<T>(pk: string, prefix: string, limit: number): Promise<{ rk: string; value: T }[]>;
}

export function memoryLedgerRows(): LedgerRows {
  const table = new MemoryTable<unknown>();
  return {
    async get<T>(pk: string, rk: string) {
      const row = table.get(pk, rk);
      return row ? { value: row.value as T, etag: row.etag } : null;
    },
    async create(pk, rk, value) {
      return table.put(pk, rk, value, { ifNotExists: true });
    },
    async replace(pk, rk, value, etag) {
      return table.put(pk, rk, value, { ifMatch: etag });
    },
    async upsert(pk, rk, value) {
      table.put(pk, rk, value);
    },
    async delete(pk, rk) {
      table.delete(pk, rk);
    },
    async list<T>(pk: string, prefix: string, limit: number) {
      return table.list((p, r) => p === pk && r.startsWith(prefix)).slice(0, limit).map((r) => ({ rk: r.rowKey, value: r.value as T }));
    },
  };
}

export function tableLedgerRows(client: TableClient): LedgerRows {
  return {
    async get<T>(pk: string, rk: string) {
      const row = await getOrNull(client, pk, rk, "read F&O ledger");
      return row ? { value: JSON.parse(String(row.json)) as T, etag: requireEtag(row.etag, "read F&O ledger") } : null;
    },
    async create(pk, rk, value) {
      try {
        const res = await client.createEntity({ partitionKey: pk, rowKey: rk, json: JSON.stringify(value) });
        return requireEtag(res.etag, "record F&O message");
      } catch (e) {
        throw translateStorageError(e, "record F&O message");
      }
    },
    async replace(pk, rk, value, etag) {
      try {
        const res = await client.updateEntity({ partitionKey: pk, rowKey: rk, json: JSON.stringify(value) }, "Replace", { etag });
        return requireEtag(res.etag, "update F&O message");
      } catch (e) {
        const err = translateStorageError(e, "update F&O message");
        if (err.status === 404) throw new SyncError("conflict", ErrorCodes.Concurrency, "update F&O message: the row is gone", { cause: e, status: 412 });
        throw err;
      }
    },
    async upsert(pk, rk, value) {
      await wrap("write F&O ledger", () => client.upsertEntity({ partitionKey: pk, rowKey: rk, json: JSON.stringify(value) }, "Replace"));
    },
    async delete(pk, rk) {
      await deleteIfExists(client, pk, rk, "delete F&O ledger row");
    },
    async list<T>(pk: string, prefix: string, limit: number) {
      const out: { rk: string; value: T }[] = [];
      // Every key we write is ASCII, so "prefix" up to "prefix\x7f" is exactly the rows starting with it.
      const filter = `PartitionKey eq '${pk.replace(/'/g, "''")}' and RowKey ge '${prefix.replace(/'/g, "''")}' and RowKey lt '${prefix.replace(/'/g, "''")}\u007f'`;
      await wrap("list F&O ledger", async () => {
        for await (const page of client.listEntities<{ json: string }>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(limit, 1000) })) {
          for (const row of page) {
            out.push({ rk: row.rowKey!, value: JSON.parse(row.json) as T });
            if (out.length >= limit) return;
          }
        }
      });
      return out;
    },
  };
}
