import type { TableClient, TableEntityResult } from "@azure/data-tables";
import { mapLimited } from "../mapLimited.js";
import { ErrorCodes, SyncError } from "../errors.js";
import { statusOf, translateStorageError } from "./tableErrors.js";

export type Row = TableEntityResult<Record<string, unknown>>;

/** Point read; a missing entity is `null`, every other failure a SyncError. */
export async function getOrNull(client: TableClient, partitionKey: string, rowKey: string, operation: string): Promise<Row | null> {
  try {
    return await client.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (e) {
    if (statusOf(e) === 404) return null;
    throw translateStorageError(e, operation);
  }
}

/** Delete that tolerates an entity already gone. */
export async function deleteIfExists(client: TableClient, partitionKey: string, rowKey: string, operation: string, etag?: string): Promise<void> {
  try {
    await client.deleteEntity(partitionKey, rowKey, etag ? { etag } : undefined);
  } catch (e) {
    if (statusOf(e) === 404) return;
    throw translateStorageError(e, operation);
  }
}

export async function wrap<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw translateStorageError(e, operation);
  }
}

/** Entity properties without `undefined` (the service has no way to store it). */
export function defined(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function requireEtag(etag: string | undefined, operation: string): string {
  if (!etag) throw new SyncError("transient", ErrorCodes.Network, `${operation}: the service answered without an ETag`);
  return etag;
}

/**
 * Point reads of one `getMany` in flight at once: a batch of 32 notices reads its links in two or
 * three rounds, and one call never holds more than this many of the client's sockets.
 */
const READ_CONCURRENCY = 16;

/**
 * The entities of `rowKeys` in one partition (missing ones absent), one point read each, a bounded
 * number at a time: what a batch of notices needs from the link table. Not one query of
 * `RowKey eq a or RowKey eq b …`: Microsoft's Table design guide says an "or" over RowKey values
 * "results in a partition scan and is not treated as a range query" ("Design for querying",
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-for-query), and the link
 * partition is the whole mapping (a million rows for a big customer), while a point query uses the
 * index and is "the most efficient lookup to use".
 */
export async function getMany(client: TableClient, partitionKey: string, rowKeys: readonly string[], operation: string): Promise<Row[]> {
  const rows = await mapLimited([...new Set(rowKeys)], READ_CONCURRENCY, (rowKey) => getOrNull(client, partitionKey, rowKey, operation));
  return rows.filter((row): row is Row => row !== null);
}
