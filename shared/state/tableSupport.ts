import type { TableClient, TableEntityResult } from "@azure/data-tables";
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
