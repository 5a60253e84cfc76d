/**
 * The narrow ports the sync core works over. Adapters: shared/dataverse (DataverseClient),
 * shared/app (AppClient), shared/state (SyncStateStore in Table Storage + in-memory fake;
 * WorkQueue on Storage Queues + in-memory). shared/sync never imports an Azure SDK.
 */
import type { SyncError } from "./errors.js";

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface Logger {
  debug(message: string, props?: Record<string, unknown>): void;
  info(message: string, props?: Record<string, unknown>): void;
  warn(message: string, props?: Record<string, unknown>): void;
  error(message: string, props?: Record<string, unknown>): void;
}

// ---------------------------------------------------------------- Dataverse

/** A row as the Web API returns it (JSON), including `@odata.etag`, `_x_value` lookups, `modifiedon`. */
export type DataverseRow = Record<string, unknown>;

export interface ChangePage {
  /** New or updated rows (whole, all selected columns). */
  rows: DataverseRow[];
  /** Ids of `$deletedEntity` entries. */
  deleted: string[];
  /** Set on the last page only: the link to read the next delta from. */
  deltaLink?: string;
}

export interface WhoAmI {
  UserId: string;
  BusinessUnitId: string;
  OrganizationId: string;
}

/** Alternate-key values, e.g. `{ hlf_mentorid: "m-1" }`. */
export type KeyValues = Record<string, string | number>;

export interface BulkWrite {
  /** The caller's reference, echoed in the result. */
  ref: string;
  kind: "create" | "update" | "upsert" | "delete";
  /** Primary id (update, delete; optional for create). */
  id?: string;
  /** Alternate key (upsert). */
  key?: KeyValues;
  /** Columns to write (only the changed ones for updates); may hold `nav@odata.bind`. */
  body?: Record<string, unknown>;
  /**
   * Update and delete only: the row version (`@odata.etag`, e.g. `W/"123"`) the decision was based
   * on. The write applies only while the row still has this version; otherwise the result is a
   * SyncError CONCURRENCY (HTTP 412), and the caller re-reads and decides again.
   */
  ifMatch?: string;
}

export type BulkResult =
  | { ref: string; ok: true; id?: string }
  | { ref: string; ok: false; error: SyncError };

export interface DataverseClient {
  whoAmI(): Promise<WhoAmI>;
  /**
   * Change-tracking read. Without `deltaLink` it is the initial read (every row, then a delta link);
   * with it, the changes since. Throws SyncError EXPIRED_DELTA_TOKEN when the token has expired.
   * Pages are streamed; the delta link comes with the last page.
   */
  readChanges(entitySet: string, options: { select: string[]; deltaLink?: string; pageSize?: number }): AsyncIterable<ChangePage>;
  retrieve(entitySet: string, id: string, select?: string[]): Promise<DataverseRow | null>;
  retrieveByKey(entitySet: string, key: KeyValues, select?: string[]): Promise<DataverseRow | null>;
  /** `formattedValues`: each value's display text too (a choice's label), as `<column>@OData.Community.Display.V1.FormattedValue`. */
  query(entitySet: string, options: { select?: string[]; filter?: string; orderBy?: string; top?: number; pageSize?: number; formattedValues?: boolean }): AsyncIterable<DataverseRow[]>;
  create(entitySet: string, body: Record<string, unknown>): Promise<string>;
  /** PATCH with `If-Match` (default `*`: update only, never creates). */
  update(entitySet: string, id: string, body: Record<string, unknown>, options?: { ifMatch?: string }): Promise<void>;
  /** PATCH by alternate key without If-Match: creates or updates. Returns the row id when known. */
  upsertByKey(entitySet: string, key: KeyValues, body: Record<string, unknown>): Promise<string | undefined>;
  delete(entitySet: string, id: string, options?: { ifMatch?: string }): Promise<void>;
  /**
   * Many writes to one table with per-record results: bulk messages (CreateMultiple /
   * UpdateMultiple / UpsertMultiple) first, falling back to `$batch` with continue-on-error when a
   * bulk call fails, so one bad record never blocks its neighbours. Throttling is retried inside.
   */
  writeMany(entitySet: string, table: string, writes: BulkWrite[], options?: { primaryId?: string }): Promise<BulkResult[]>;
}

// ---------------------------------------------------------------- the app (App Sync API)

export interface AppRecord {
  id: string;
  version: string;
  updatedAt: string;
  deleted: boolean;
  data: Record<string, unknown> | null;
  /**
   * Set by the app client, never by the app: what is wrong with a record the app sent in a shape the
   * App Sync API does not allow (no id, no version, `data` not an object while it is live). Such a
   * record is never written anywhere: it fails alone with UNEXPECTED_RESPONSE and stays pending.
   */
  problem?: string;
}

export interface AppWriteResult {
  id: string;
  version: string;
  updatedAt: string;
}

export interface AppChangePage {
  records: AppRecord[];
  nextCursor: string;
  hasMore: boolean;
}

export interface AppClient {
  /** Pages of changes since `cursor` (none = everything from the beginning). */
  changes(entity: string, cursor?: string, limit?: number): AsyncIterable<AppChangePage>;
  /** null when the record does not exist or is deleted (404). */
  get(entity: string, id: string): Promise<AppRecord | null>;
  create(entity: string, data: Record<string, unknown>, dataverseId?: string): Promise<AppWriteResult>;
  /** Partial update; `ifMatch` is the opaque version (sent quoted). 412 -> SyncError CONCURRENCY. */
  update(entity: string, id: string, data: Record<string, unknown>, options?: { ifMatch?: string; dataverseId?: string }): Promise<AppWriteResult>;
  /** false when the record was already gone (404). */
  delete(entity: string, id: string): Promise<boolean>;
}

// ---------------------------------------------------------------- state

export type Side = "dataverse" | "app";
export type DirectionKey = "toDataverse" | "toApp";

export interface Cursor {
  mapping: string;
  side: Side;
  /** Dataverse delta link or the app's opaque cursor. */
  value: string;
  takenAt: string;
  etag?: string;
}

/** Canonical mapped values keyed by the app field name (normalized JSON, see shared/sync/values.ts). */
export type Canonical = Record<string, unknown>;

export interface Link {
  mapping: string;
  appId: string;
  dataverseId: string;
  /** Canonical values as last synced (the base of the three-way merge). */
  base: Canonical;
  /** Hash of `base`. */
  hash: string;
  appVersion?: string;
  dataverseVersion?: string;
  lastSyncedAt: string;
  /**
   * Written before a Dataverse create whose row cannot be traced back to its app record by its key (a
   * natural key): the row may exist or not yet. Such a link is never a base for a merge: with both
   * sides present the pair is matched afresh, and with the row missing the create is planned again.
   */
  pendingCreate?: boolean;
  /**
   * Not stored. Set by a writer that has just created this pairing (a Dataverse row for a new app
   * record): putLinks stores it only while the app id has no link, an intent (`pendingCreate`), or
   * one to the same Dataverse id. When another writer linked the app record to another row
   * meanwhile, the claim is refused, and the row just created is a duplicate (appWriter.ts).
   */
  claim?: boolean;
  /**
   * Not stored. Set by a writer that stored this same pairing (this app id to this Dataverse id),
   * pointer and all, earlier in the same write message: a key write-back's link after its claim, a
   * natural-key create's link after its intent. putLinks then writes the link alone, without
   * rewriting the unchanged `d|` pointer (one entity write fewer a record). A link's pointer is
   * written before the link and deleted after it, so a link that exists has it. (A link another
   * writer deleted in between is written again without one, as it was written again before; it is
   * then found by its app id and in listings, and a later write of the pair puts the pointer back.)
   */
  pointerWritten?: boolean;
  etag?: string;
}

/** A link without its base (see SyncStateStore.listLinkDigests). */
export type LinkDigest = Pick<Link, "appId" | "dataverseId" | "hash" | "appVersion" | "pendingCreate">;

export interface DirectionCounts {
  created: number;
  updated: number;
  deleted: number;
  skipped: number;
  failed: number;
  /**
   * Deletes the mapping's delete policy leaves alone on this side (`deletes: "ignore"`, or an app
   * record under `deactivate` with no inactive field): the link is dropped, nothing is written.
   * Absent in runs stored before it was counted.
   */
  ignored?: number;
}

/** `reconcile` reads both sides in full like `full`, and also reports how far they had diverged. */
export type RunMode = "delta" | "full" | "reconcile";

/** What a reconcile run found before it repaired anything: records whose sides disagreed, by field. */
export interface Divergence {
  /** Records (linked or not) whose two sides did not hold the same mapped values. */
  records: number;
  /** Per app field name: how many records disagreed on it. */
  fields: Record<string, number>;
}

export type RunStatus = "queued" | "planning" | "writing" | "succeeded" | "completed_with_failures" | "failed";

export interface RunRecord {
  runId: string;
  mapping: string;
  mode: RunMode;
  trigger: "timer" | "manual" | "cli" | "startup" | "webhook";
  dryRun: boolean;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  toDataverse: DirectionCounts;
  toApp: DirectionCounts;
  conflicts: number;
  /** Records handed to the writers, and how many of them have finished (either way). */
  planned: number;
  processed: number;
  error?: string;
  /** The code of the error that failed the run (e.g. FEED_LOOP), when it had one. */
  errorCode?: string;
  /** Reconcile runs only. */
  divergence?: Divergence;
  /** Things an operator should know (expired delta token re-read, mass-delete breaker, ...). */
  notes: string[];
  etag?: string;
}

export interface HealthRecord {
  mapping: string;
  direction: DirectionKey;
  lastSuccessAt?: string;
  lastRunAt?: string;
  lastRunId?: string;
  lastRunStatus?: RunStatus;
  consecutiveFailures: number;
  etag?: string;
}

/**
 * A pending record (historically "dead letter"): a change read from one side that has not reached the
 * other side yet, with the reason. Every later run re-reads it fresh on both sides and decides it
 * again once `nextAttemptAt` has passed, until it syncs (the entry is removed) or an operator
 * discards it. `firstFailedAt` / `lastFailedAt` are when it was first and last seen pending.
 */
export interface DeadLetter {
  id: string;
  mapping: string;
  direction: DirectionKey;
  /** App id or Dataverse id of the record. */
  recordId: string;
  /** Both ids when known: what a later run re-reads. */
  appId?: string;
  dataverseId?: string;
  code: string;
  message: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  /**
   * When a run may try it again (back-off across runs). Absent: only an operator's retry brings it
   * back (a delete held by the mass-delete breaker must not go out on its own).
   */
  nextAttemptAt?: string;
  runId?: string;
  /** What is needed to replay it (the write op or a record reference). */
  payload: unknown;
}

export interface ConflictRecord {
  id: string;
  mapping: string;
  appId: string;
  dataverseId: string;
  fields: { field: string; app: unknown; dataverse: unknown; base: unknown }[];
  appUpdatedAt?: string;
  dataverseModifiedOn?: string;
  detectedAt: string;
  runId?: string;
  status: "open" | "resolved";
}

/**
 * Text kept for a queue message that carries only its id: the write ops of a record too large for a
 * queue message. Written before the message is sent, deleted once the message is done.
 */
export interface PayloadStore {
  /** Throws SyncError PAYLOAD_TOO_LARGE above the store's cap (shared/state/tablePayloads.ts). */
  putPayload(id: string, text: string): Promise<void>;
  /** null when there is none (never written, or already deleted). */
  getPayload(id: string): Promise<string | null>;
  /** Tolerates a payload already gone. */
  deletePayload(id: string): Promise<void>;
}

export interface SyncStateStore {
  getCursor(mapping: string, side: Side): Promise<Cursor | null>;
  /** Compare-and-set on `etag` when given; a stale etag throws SyncError CONCURRENCY. */
  putCursor(cursor: Cursor): Promise<Cursor>;
  deleteCursor(mapping: string, side: Side): Promise<void>;

  getLinkByApp(mapping: string, appId: string): Promise<Link | null>;
  getLinkByDataverse(mapping: string, dataverseId: string): Promise<Link | null>;
  /**
   * The links of many records at once (a batch of webhook notices): a few Table queries instead of
   * a read (or two) per record. Keyed by the id asked for; an id without a link is absent.
   */
  getLinksByApp(mapping: string, appIds: readonly string[]): Promise<Map<string, Link>>;
  /** As getLinkByDataverse for each id (a stale pointer finds nothing), keyed by the Dataverse id. */
  getLinksByDataverse(mapping: string, dataverseIds: readonly string[]): Promise<Map<string, Link>>;
  /** Writes both index entries atomically; compare-and-set on `etag` when given. */
  putLink(link: Link): Promise<Link>;
  /**
   * Upsert of many links (etags ignored), in Table transactions per mapping. Only for links that
   * are new or keep their Dataverse id: an old `d|` pointer is not looked for or removed. Links
   * marked `claim` are conditional (see Link.claim): the refused ones are returned, unwritten.
   */
  putLinks(links: Link[]): Promise<Link[]>;
  deleteLink(link: Link): Promise<void>;
  listLinks(mapping: string): AsyncIterable<Link>;
  /**
   * The links' ids and hashes only (no base): what scans over a million links need (echo checks,
   * reconcile), without reading and parsing every base.
   */
  listLinkDigests(mapping: string): AsyncIterable<LinkDigest>;
  countLinks(mapping: string): Promise<number>;

  createRun(run: RunRecord): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | null>;
  /** Read-modify-write with ETag compare-and-set, retried on contention. */
  updateRun(runId: string, mutate: (run: RunRecord) => RunRecord): Promise<RunRecord>;
  listRuns(options?: { mapping?: string; limit?: number }): Promise<RunRecord[]>;

  getHealth(mapping: string, direction: DirectionKey): Promise<HealthRecord | null>;
  updateHealth(mapping: string, direction: DirectionKey, mutate: (h: HealthRecord) => HealthRecord): Promise<HealthRecord>;

  putDeadLetter(dl: DeadLetter): Promise<void>;
  getDeadLetter(id: string): Promise<DeadLetter | null>;
  listDeadLetters(options?: { mapping?: string; limit?: number }): Promise<DeadLetter[]>;
  deleteDeadLetter(id: string): Promise<void>;
  countDeadLetters(mapping?: string): Promise<number>;

  putConflict(conflict: ConflictRecord): Promise<void>;
  listConflicts(options?: { mapping?: string; status?: "open" | "resolved" }): Promise<ConflictRecord[]>;

  /** Out-of-band write payloads (both adapters have them; optional so partial fakes need not). */
  payloads?: PayloadStore;
}

export interface QueueMessage<T> {
  id: string;
  popReceipt: string;
  dequeueCount: number;
  body: T;
}

/** A work queue. Messages are JSON; the Storage adapter base64-encodes them (host.json messageEncoding). */
export interface WorkQueue<T = unknown> {
  readonly name: string;
  send(message: T, options?: { delayMs?: number }): Promise<void>;
  receive(max: number, visibilityMs: number): Promise<QueueMessage<T>[]>;
  complete(message: QueueMessage<T>): Promise<void>;
  /** Make a received message visible again after `delayMs` (a failed attempt). */
  abandon(message: QueueMessage<T>, delayMs: number): Promise<void>;
  /**
   * Keep a message that is being worked on invisible for `visibilityMs` from now (the Functions host
   * does this while a function runs, so one message is never handled in two places at once).
   * Updates `message.popReceipt`; throws CONCURRENCY when the lease was already lost.
   */
  extend(message: QueueMessage<T>, visibilityMs: number): Promise<void>;
  approximateCount(): Promise<number>;
}

/** Custom events and metrics (Application Insights through OpenTelemetry; a no-op without it). */
export interface Telemetry {
  event(name: string, properties: Record<string, string | number | boolean | undefined>): void;
  metric(name: string, value: number, properties?: Record<string, string | number | boolean | undefined>): void;
}
