/**
 * Seams between the parts of the Dataverse emulator. Two groups of modules meet here:
 * - core (server.ts, store.ts, schema.ts, odata/*, entities.ts, changeTracking.ts, auth.ts, whoAmI):
 *   tables, rows, queries, CRUD/upsert, change tracking, tokens, the HTTP server and its pipeline;
 * - extras (batch.ts, bulk.ts, throttle.ts, webhooks.ts, faults.ts, requestLog.ts): `$batch`,
 *   bulk messages, service protection + cost model, webhook deliveries, scripted faults, request log.
 * Behaviour follows ../shared/docs/dataverse-web-api.md.
 */

/** One HTTP request as the emulator sees it (also used for the inner requests of a `$batch`). */
export interface EmuRequest {
  method: string;
  /** Absolute URL, e.g. http://127.0.0.1:1234/api/data/v9.2/contacts(…)?$select=a */
  url: URL;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
  /** The authenticated caller (systemuserid in the emulator), set by the auth step. */
  userId: string;
  /** True for an inner request of a `$batch` (not counted again by service protection). */
  inBatch?: boolean;
}

export interface EmuResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export type EmuHandler = (req: EmuRequest) => Promise<EmuResponse>;

/** A Dataverse error: becomes `{"error":{"code","message"}}` with `status`. */
export class DataverseFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "DataverseFault";
  }
}

export function faultResponse(fault: DataverseFault): EmuResponse {
  return {
    status: fault.status,
    headers: { "content-type": "application/json; odata.metadata=minimal", "odata-version": "4.0", ...fault.headers },
    body: JSON.stringify({ error: { code: fault.code, message: fault.message } }),
  };
}

export type ChangeMessage = "Create" | "Update" | "Delete";

/**
 * How the store holds a lookup/owner column value (keyed by the column's logical name, e.g.
 * `hlf_groupid`, `ownerid`, `modifiedby`): an entity reference, like the SDK's EntityReference.
 * On the wire it is read as `_<column>_value` (the id) plus annotations.
 */
export interface LookupValue {
  id: string;
  logicalName: string;
}

/** Raised by the store after every committed write (per row, also for each bulk Target). */
export interface ChangeEvent {
  table: string;
  message: ChangeMessage;
  id: string;
  /** The writing user (becomes InitiatingUserId/UserId in webhook deliveries). */
  userId: string;
  /** Columns written by this operation (Update Target holds only these plus system columns). */
  changed: Record<string, unknown>;
  /** The row after the write (null for Delete): stored column values incl. system columns. */
  row: Record<string, unknown> | null;
  correlationId: string;
}

/** Operations on rows by table logical name, with full validation; they throw DataverseFault. */
export interface EntityOps {
  create(table: string, body: Record<string, unknown>, userId: string): string;
  update(table: string, id: string, body: Record<string, unknown>, userId: string, options?: { ifMatch?: string }): void;
  /** Upsert by primary id or alternate key (`key` holds column -> value). Returns id and whether it created. */
  upsert(table: string, key: Record<string, unknown>, body: Record<string, unknown>, userId: string): { id: string; created: boolean };
  delete(table: string, id: string, userId: string, options?: { ifMatch?: string }): void;
  /** The table's logical name for an entity set name, or undefined. */
  tableForEntitySet(entitySet: string): string | undefined;
  /** Parse an `@odata.id` / bind URL such as `contacts(hlf_mentorid='m-1')` into table + key. */
  parseRecordUrl(url: string): { table: string; key: Record<string, unknown> } | undefined;
}

/**
 * All-or-nothing execution, used by changesets and bulk messages. Writes made inside `fn` (tracked
 * through AsyncLocalStorage, so concurrent requests are not affected) are undone in reverse order
 * when `fn` throws, and their change events are only raised after it commits.
 */
export type Transaction = <T>(fn: () => Promise<T>) => Promise<T>;

/** What the extras receive from the core. */
export interface EmulatorContext {
  /** The core router for a single, non-batch request (entity CRUD, queries, functions, bulk actions). */
  dispatch: EmuHandler;
  ops: EntityOps;
  transaction: Transaction;
  /** Subscribe to committed changes; returns an unsubscribe function. */
  onChange(listener: (event: ChangeEvent) => void): () => void;
  /** Base URL of the service root's host, e.g. http://127.0.0.1:1234 (no trailing slash). */
  origin: string;
  /** `${origin}/api/data/v9.2/` */
  serviceRoot: string;
  organizationId: string;
  organizationName: string;
  businessUnitId: string;
  /** Emulator time in ms (real time; the throttle model scales its windows by `timeScale`). */
  now(): number;
}
