import { z } from "zod";

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
  "choice", "multichoice", "lookup", "owner",
]).describe("How the value is converted between the app and the Dataverse column.");
export type FieldType = z.infer<typeof FieldType>;

export const LookupTarget = z.strictObject({
  /** Another mapping whose link map resolves app id <-> Dataverse id. */
  mapping: z.string().min(1).optional().describe("Another mapping whose links resolve app id <-> Dataverse id (may be this mapping)."),
  /** Or resolve through an alternate key of a Dataverse table: the app value is the key value. */
  entitySet: z.string().min(1).optional().describe("Entity set of the target table, when resolving through an alternate key instead of a mapping."),
  key: z.string().min(1).optional().describe("Alternate-key column of the target table whose value is the app value."),
  /** Single-valued navigation property used in `@odata.bind` (case-sensitive); default: the column name. */
  navigationProperty: z.string().min(1).optional()
    .describe("Single-valued navigation property used in @odata.bind (case-sensitive); default: the column name."),
}).describe("type lookup: how the referenced record is found. Give mapping, or entitySet + key.");
export type LookupTarget = z.infer<typeof LookupTarget>;

export const FieldMapping = z.strictObject({
  app: z.string().min(1).describe("Field name in the app record's data (`id` is the app record id)."),
  dataverse: z.string().min(1).describe("Logical name of the Dataverse column."),
  type: FieldType,
  direction: Direction.optional().describe("Overrides the mapping's direction for this field."),
  /** choice / multichoice: app value -> Dataverse option value. */
  choices: z.record(z.string(), z.number().int()).optional()
    .describe("type choice / multichoice: app value -> Dataverse option value, e.g. {\"active\": 100000000}."),
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
}).describe("One field: an app field, a Dataverse column and the type that converts between them.");
export type FieldMapping = z.infer<typeof FieldMapping>;

export const Mapping = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, "a name of letters, digits, '-' and '_', starting with a letter"),
  app: z.strictObject({
    entity: z.string().min(1).describe("The entity name in the App Sync API paths (/sync/{entity}/...)."),
    /** Safe filter expression over the app record's data (filtrex syntax), e.g. `score >= 50`. */
    filter: z.string().min(1).optional().describe("Only app records matching this filtrex expression sync, e.g. score >= 50."),
    /** For `deletes: "deactivate"`: the app field and value that mark a record inactive. */
    inactiveField: z.strictObject({ field: z.string().min(1), value: z.unknown() }).optional()
      .describe("For deletes \"deactivate\": the app field and value that mark a record inactive."),
  }).describe("The app side."),
  dataverse: z.strictObject({
    entitySet: z.string().min(1).describe("Entity set name used in Web API URLs, e.g. contacts."),
    table: z.string().min(1).describe("Logical table name, e.g. contact."),
    /** Alternate-key columns that identify a row; the app side of each is a mapped field. */
    key: z.array(z.string().min(1)).min(1).describe("Alternate-key columns that identify a row; each is a mapped field."),
    /** Primary id column; default `<table>id`. */
    primaryId: z.string().min(1).optional().describe("Primary id column; default <table>id."),
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
  fields: z.array(FieldMapping).min(1),
}).describe("One app entity <-> one Dataverse table.");
export type Mapping = z.infer<typeof Mapping>;

export const SyncOptions = z.strictObject({
  massDeleteShare: z.number().min(0).max(1).default(0.2).describe("Share of a mapping's linked records that one run may delete before deletes stop (0..1)."),
  massDeleteMinimum: z.number().int().min(0).default(10).describe("The breaker only trips when at least this many deletes are planned."),
  stalenessHours: z.number().positive().default(26).describe("Health turns 503 when a mapping's last success is older than this."),
  maxAttempts: z.number().int().min(1).max(20).default(5).describe("Attempts per record write before it is dead-lettered."),
  webhookMaxBodyBytes: z.number().int().min(262_144).default(524_288).describe("Webhook bodies above this are refused with 413 (never below 256 KB, what Dataverse sends)."),
  reconcileSchedule: z.string().default("0 0 3 * * 0")
    .describe("NCRONTAB (UTC) of the scheduled reconciliation (read both sides in full, repair and report divergence); default weekly, Sunday 03:00. 5 fields get second 0."),
  chunkSize: z.number().int().min(1).max(1000).default(500).describe("Records per write message / bulk request (a message is split further when it would exceed the 64 KB queue limit even compressed)."),
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
export type SyncConfig = z.infer<typeof SyncConfig>;
export type SyncConfigInput = z.input<typeof SyncConfig>;

/** Resolved primary id column of a mapping's Dataverse table. */
export function primaryIdOf(mapping: Mapping): string {
  return mapping.dataverse.primaryId ?? `${mapping.dataverse.table}id`;
}

/** Effective direction of a field (field override, else the mapping's). */
export function fieldDirection(mapping: Mapping, field: FieldMapping): Direction {
  return field.direction ?? mapping.direction;
}
