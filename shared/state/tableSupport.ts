import { odata, type TableClient, type TableEntityResult } from "@azure/data-tables";
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
 * The service allows at most 15 comparisons in one `$filter` ("Querying tables and entities",
 * https://learn.microsoft.com/rest/api/storageservices/querying-tables-and-entities): the
 * partition's and 14 row keys.
 */
const KEYS_PER_QUERY = 14;
/** Queries of one `getMany` in flight at once. */
const QUERY_CONCURRENCY = 4;

/**
 * The entities of `rowKeys` in one partition (missing ones absent), 14 to a query instead of one
 * point read each: what a batch of notices needs from the link table.
 */
export async function getMany(client: TableClient, partitionKey: string, rowKeys: readonly string[], operation: string): Promise<Row[]> {
  const unique = [...new Set(rowKeys)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += KEYS_PER_QUERY) chunks.push(unique.slice(i, i + KEYS_PER_QUERY));
  const pages = await mapLimited(chunks, QUERY_CONCURRENCY, (keys) => wrap(operation, async () => {
    const anyKey = keys.map((k) => odata`RowKey eq ${k}`).join(" or ");
    const rows: Row[] = [];
    const query = client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `${odata`PartitionKey eq ${partitionKey}`} and (${anyKey})` } });
    for await (const page of query.byPage({ maxPageSize: KEYS_PER_QUERY })) rows.push(...page);
    return rows;
  }));
  return pages.flat();
}
