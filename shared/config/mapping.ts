import { z } from "zod";
import { defaultHttpBounds, MAX_TIMER_MS } from "../http/httpBounds.js";

/**
 * The mapping file (`sync.config.json`) — the contract in product.md. This zod definition is the
 * single source: TypeScript types, start-up validation and the committed JSON Schema
 * (`sync.config.schema.json`) all come from it.
 */

export const Direction = z.enum(["to-dataverse", "to-app", "both"])
  .describe("Which way values flow: to-dataverse, to-app or both.");
export type Direction = z.infer<typeof Direction>;

export const FieldType = z.enum([
  "string", "number", "decimal", "money", "boolean", "date", "datetime",
  "choice", "multichoice", "lookup", "owner", "status",
]).describe("How the value is converted between the app and the Dataverse column.");
export type FieldType = z.infer<typeof FieldType>;

/** Names that read or replace a plain object's prototype instead of a property of its own. */
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor"]);
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An app field name: a key of the record's `data`. */
export const AppFieldName = z.string().min(1)
  .refine((n) => !CONTROL.test(n), "a field name without control characters (NUL, newline, ...)")
  .refine((n) => !PROTOTYPE_KEYS.has(n), "a field name other than __proto__ and constructor (they name a JavaScript object's prototype)");

/** A Dataverse logical name (column, table, entity set): it goes into Web API URLs as it is. */
export const LogicalName = z.string().min(1)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a Dataverse logical name: letters, digits and '_', not starting with a digit")
  .refine((n) => !PROTOTYPE_KEYS.has(n), "a logical name other than __proto__ and constructor");

/** One valid statecode/statuscode pair of a table (in Dataverse each status reason belongs to one state). */
export const StatusPair = z.strictObject({
  state: z.number().int().min(0).describe("The statecode value (e.g. 0 Active)."),
  status: z.number().int().min(0).describe("The statuscode value, a status reason of that state (e.g. 100001)."),
}).describe("A statecode and the statuscode that belongs to it.");
export type StatusPair = z.infer<typeof StatusPair>;

export const LookupTarget = z.strictObject({
  /** Another mapping whose link map resolves app id <-> Dataverse id. */
  mapping: z.string().min(1).optional().describe("Another mapping whose links resolve app id <-> Dataverse id (may be this mapping)."),
  /** Or resolve through an alternate key of a Dataverse table: the app value is the key value. */
  entitySet: LogicalName.optional().describe("Entity set of the target table, when resolving through an alternate key instead of a mapping."),
  key: LogicalName.optional().describe("Alternate-key column of the target table whose value is the app value."),
  /** Single-valued navigation property used in `@odata.bind` (case-sensitive); default: the column name. */
  navigationProperty: LogicalName.optional()
    .describe("Single-valued navigation property used in @odata.bind (case-sensitive); default: the column name."),
}).describe("type lookup: how the referenced record is found. Give mapping, or entitySet + key.");
export type LookupTarget = z.infer<typeof LookupTarget>;

export const FieldMapping = z.strictObject({
  app: AppFieldName.describe("Field name in the app record's data (`id` is the app record id)."),
  dataverse: LogicalName.describe("Logical name of the Dataverse column (statuscode for type status)."),
  type: FieldType,
  direction: Direction.optional().describe("Overrides the mapping's direction for this field."),
  /** choice / multichoice: app value -> Dataverse option value. */
  choices: z.record(z.string(), z.number().int()).optional()
    .describe("type choice / multichoice: app value -> Dataverse option value, e.g. {\"active\": 100000000}."),
  /** status: app value -> the statecode/statuscode pair written together. */
  statuses: z.record(z.string(), StatusPair).optional()
    .describe("type status: app value -> {\"state\": statecode, \"status\": statuscode}, e.g. {\"submitted\": {\"state\": 0, \"status\": 100001}}; both columns are written together."),
  lookup: LookupTarget.optional(),
  /** owner: which table the owner id refers to. */
  ownerType: z.enum(["systemuser", "team"]).optional().describe("type owner: the table the owner id refers to."),
  /** Used when the source value is null or missing. */
  default: z.unknown().optional().describe("Value used when the source value is null or missing."),
  /** Named transforms applied in order on the way to the other side (see shared/sync/transforms.ts). */
  transforms: z.array(z.string().min(1)).optional()
    .describe("Named transforms applied in order: trim, lowercase, uppercase, nullIfEmpty, emptyIfNull, or ones registered in code."),
  /** A code-level custom field mapper registered by name. */
  mapper: z.string().min(1).optional().describe("A custom field mapper registered in code by this name."),
  /** decimal/money: digits after the decimal point used when comparing and writing. */
  precision: z.number().int().min(0).max(10).optional()
    .describe("type decimal / money: digits after the decimal point used when comparing and writing."),
  expires: z.strictObject({
    when: AppFieldName.describe("The app name of a date or datetime field of this mapping."),
    becomes: z.unknown().describe("The value this field takes (an app value, e.g. a choice key) once `when` is in the past."),
  }).optional().describe("An expiry rule: this field takes the value `becomes` once the date field `when` is in the past (UTC); scheduled runs apply it to the records whose date has passed."),
  critical: z.boolean().optional()
    .describe("A divergence on this field raises the mismatch alert, and a record failing while this field changes notifies the mapping's coordinators."),
}).describe("One field: an app field, a Dataverse column and the type that converts between them.");
export type FieldMapping = z.infer<typeof FieldMapping>;

export const Mapping = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, "a name of letters, digits, '-' and '_', starting with a letter"),
  app: z.strictObject({
    entity: z.string().min(1).describe("The entity name in the App Sync API paths (/sync/{entity}/...)."),
    /** Safe filter expression over the app record's data (filtrex syntax), e.g. `score >= 50`. */
    filter: z.string().min(1).optional().describe("Only app records matching this filtrex expression sync, e.g. score >= 50."),
    /** For `deletes: "deactivate"`: the app field and value that mark a record inactive. */
    inactiveField: z.strictObject({ field: AppFieldName, value: z.unknown() }).optional()
      .describe("For deletes \"deactivate\": the app field and value that mark a record inactive."),
  }).describe("The app side."),
  dataverse: z.strictObject({
    entitySet: LogicalName.describe("Entity set name used in Web API URLs, e.g. contacts."),
    table: LogicalName.describe("Logical table name, e.g. contact."),
    /** Alternate-key columns that identify a row; the app side of each is a mapped field. */
    key: z.array(LogicalName).min(1).describe("Alternate-key columns that identify a row; each is a mapped field, each named once."),
    /** Primary id column; default `<table>id`. */
    primaryId: LogicalName.optional().describe("Primary id column; default <table>id."),
    /** Safe filter expression over the Dataverse row's mapped columns. */
    filter: z.string().min(1).optional().describe("Only rows whose mapped columns match this filtrex expression sync."),
  }).describe("The Dataverse side."),
  direction: Direction.default("both"),
  conflict: z.strictObject({
    strategy: z.enum(["newest-wins", "dataverse-wins", "app-wins", "manual"]).default("newest-wins"),
  }).default({ strategy: "newest-wins" }).describe("How a field changed on both sides since the last sync is decided."),
  deletes: z.enum(["propagate", "deactivate", "ignore"]).default("ignore")
    .describe("What a delete on one side does on the other: propagate (delete), deactivate, or ignore (only unlink)."),
  /** A code-level custom record mapper registered by name (shared/sync/mappers.ts). */
  mapper: z.string().min(1).optional().describe("A custom record mapper registered in code by this name."),
  notify: z.strictObject({
    webhookUrlSetting: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an app setting name (letters, digits, '_')")
      .describe("The app setting holding the coordinators' incoming-webhook URL (Teams or Slack); the URL is a secret, so only its setting is named here."),
  }).optional().describe("Where this mapping's notifications go besides NOTIFY_WEBHOOK_URL: its coordinators' webhook."),
  fields: z.array(FieldMapping).min(1),
}).describe("One app entity <-> one Dataverse table.");
export type Mapping = z.infer<typeof Mapping>;

/**
 * Bounds of one read of a change feed. A feed that never ends (a cursor that keeps changing, pages
 * that never stop) ends the mapping's run with FEED_TOO_LONG instead of running for ever; the
 * defaults leave room for a 1,000,000-record first load (1,000 app pages of 1,000, 200 Dataverse
 * pages of 5,000, about 1 KB a record) many times over.
 */
export const FeedLimits = z.strictObject({
  maxPages: z.number().int().min(1).default(50_000).describe("Pages one read of a change feed may take (default 50,000: a million records at 20 a page)."),
  maxBytes: z.number().int().min(1_048_576).default(17_179_869_184).describe("Response bytes one read of a change feed may take (default 16 GiB; at least 1 MiB)."),
});
export type FeedLimits = z.infer<typeof FeedLimits>;

/** Bounds of every outgoing call (Dataverse, the app, the token endpoint); defaults in shared/http/httpBounds.ts. */
export const HttpLimits = z.strictObject({
  connectTimeoutMs: z.number().int().min(1).max(MAX_TIMER_MS).default(defaultHttpBounds.connectTimeoutMs)
    .describe("ms to connect (TCP and TLS) before an attempt fails with CONNECT_TIMEOUT."),
  firstByteTimeoutMs: z.number().int().min(1).max(MAX_TIMER_MS).default(defaultHttpBounds.firstByteTimeoutMs)
    .describe("ms from sending a request to its response headers before the attempt fails with TIMEOUT (bulk and $batch calls allow at least 120 s)."),
  bodyTimeoutMs: z.number().int().min(1).max(MAX_TIMER_MS).default(defaultHttpBounds.bodyTimeoutMs)
    .describe("ms from the response headers to the body's last byte, however slowly it arrives, before the attempt fails with TIMEOUT."),
  totalTimeoutMs: z.number().int().min(1).max(MAX_TIMER_MS).default(defaultHttpBounds.totalTimeoutMs)
    .describe("ms one call may take in total, every attempt and wait between them included."),
  maxRetryAfterMs: z.number().int().min(0).max(MAX_TIMER_MS).default(defaultHttpBounds.maxRetryAfterMs)
    .describe("The longest Retry-After a call waits for; a longer one (or one past the call's total) fails it as RETRY_AFTER_TOO_LONG, the records stay pending."),
  maxResponseBytes: z.number().int().min(1024).default(defaultHttpBounds.maxResponseBytes)
    .describe("A response body over this many bytes is refused while it streams (RESPONSE_TOO_LARGE)."),
  tokenTimeoutMs: z.number().int().min(1).max(MAX_TIMER_MS).default(defaultHttpBounds.tokenTimeoutMs)
    .describe("ms one token acquisition may take before it fails with TIMEOUT."),
}).describe("Bounds of every outgoing call to Dataverse, the app and the token endpoint.");
export type HttpLimits = z.infer<typeof HttpLimits>;

export const SyncOptions = z.strictObject({
  massDeleteShare: z.number().min(0).max(1).default(0.2).describe("Share of a mapping's linked records that one run may delete before deletes stop (0..1)."),
  massDeleteMinimum: z.number().int().min(0).default(10).describe("The breaker only trips when at least this many deletes are planned."),
  stalenessHours: z.number().positive().default(26).describe("Health turns 503 when a mapping's last success is older than this."),
  maxAttempts: z.number().int().min(1).max(20).default(5).describe("Attempts per record write before it is dead-lettered."),
  webhookMaxBodyBytes: z.number().int().min(262_144).default(524_288).describe("Webhook bodies above this are refused with 413 (never below 256 KB, what Dataverse sends)."),
  reconcileSchedule: z.string().default("0 0 3 * * 0")
    .describe("NCRONTAB (UTC) of the scheduled reconciliation (read both sides in full, repair and report divergence); default weekly, Sunday 03:00. 5 fields get second 0."),
  credentialExpiryWarningDays: z.number().int().min(1).max(365).default(30)
    .describe("Days before the Dataverse credential expires from which the notifier warns and the expiry alert fires."),
  chunkSize: z.number().int().min(1).max(1000).default(500).describe("Records per write message / bulk request (a message is split further when it would exceed the 64 KB queue limit even compressed)."),
  feeds: FeedLimits.default(FeedLimits.parse({})).describe("Bounds of one read of a change feed (the app's /changes, Dataverse change tracking and queries): past them the mapping's run ends with FEED_TOO_LONG."),
  http: HttpLimits.default(HttpLimits.parse({})).describe("Bounds of every outgoing call: connect, first byte, body, total, Retry-After and response size."),
});
export type SyncOptions = z.infer<typeof SyncOptions>;

export const SyncConfig = z.strictObject({
  $schema: z.string().optional(),
  /** NCRONTAB with seconds, UTC: `{second} {minute} {hour} {day} {month} {day-of-week}`. */
  schedule: z.string().default("0 0 2 * * *")
    .describe("NCRONTAB (UTC) of the scheduled delta sync: {second} {minute} {hour} {day} {month} {day-of-week}; 5 fields get second 0."),
  options: SyncOptions.default(SyncOptions.parse({})),
  mappings: z.array(Mapping).min(1).describe("The mappings, synced with lookup targets first."),
}).describe("The d365-sync mapping file (sync.config.json).");
/** The mapping file as loaded: `activities` are its `"kind": "activity"` mappings (activityMapping.ts). */
export type SyncConfig = z.infer<typeof SyncConfig> & {
  activities?: import("./activityMapping.js").ActivityMapping[];
  /** The top-level `finops` array: Finance & Operations jobs (finopsJob.ts). */
  finops?: import("./finopsJob.js").FinopsJob[];
};
export type SyncConfigInput = z.input<typeof SyncConfig>;

/** Resolved primary id column of a mapping's Dataverse table. */
export function primaryIdOf(mapping: Mapping): string {
  return mapping.dataverse.primaryId ?? `${mapping.dataverse.table}id`;
}

/** Effective direction of a field (field override, else the mapping's). */
export function fieldDirection(mapping: Mapping, field: FieldMapping): Direction {
  return field.direction ?? mapping.direction;
}
