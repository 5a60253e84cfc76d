import { z } from "zod";

/**
 * The mapping file (`sync.config.json`) — the contract in product.md. This zod definition is the
 * single source: TypeScript types, start-up validation and the committed JSON Schema
 * (`sync.config.schema.json`) all come from it.
 */

export const Direction = z.enum(["to-dataverse", "to-app", "both"]);
export type Direction = z.infer<typeof Direction>;

export const FieldType = z.enum([
  "string", "number", "decimal", "money", "boolean", "date", "datetime",
  "choice", "multichoice", "lookup", "owner",
]);
export type FieldType = z.infer<typeof FieldType>;

export const LookupTarget = z.strictObject({
  /** Another mapping whose link map resolves app id <-> Dataverse id. */
  mapping: z.string().min(1).optional(),
  /** Or resolve through an alternate key of a Dataverse table: the app value is the key value. */
  entitySet: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** Single-valued navigation property used in `@odata.bind` (case-sensitive); default: the column name. */
  navigationProperty: z.string().min(1).optional(),
});
export type LookupTarget = z.infer<typeof LookupTarget>;

export const FieldMapping = z.strictObject({
  app: z.string().min(1),
  dataverse: z.string().min(1),
  type: FieldType,
  direction: Direction.optional(),
  /** choice / multichoice: app value -> Dataverse option value. */
  choices: z.record(z.string(), z.number().int()).optional(),
  lookup: LookupTarget.optional(),
  /** owner: which table the owner id refers to. */
  ownerType: z.enum(["systemuser", "team"]).optional(),
  /** Used when the source value is null or missing. */
  default: z.unknown().optional(),
  /** Named transforms applied in order on the way to the other side (see shared/sync/transforms.ts). */
  transforms: z.array(z.string().min(1)).optional(),
  /** A code-level custom field mapper registered by name. */
  mapper: z.string().min(1).optional(),
  /** decimal/money: digits after the decimal point used when comparing and writing. */
  precision: z.number().int().min(0).max(10).optional(),
});
export type FieldMapping = z.infer<typeof FieldMapping>;

export const Mapping = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, "a name of letters, digits, '-' and '_', starting with a letter"),
  app: z.strictObject({
    entity: z.string().min(1),
    /** Safe filter expression over the app record's data (filtrex syntax), e.g. `score >= 50`. */
    filter: z.string().min(1).optional(),
    /** For `deletes: "deactivate"`: the app field and value that mark a record inactive. */
    inactiveField: z.strictObject({ field: z.string().min(1), value: z.unknown() }).optional(),
  }),
  dataverse: z.strictObject({
    entitySet: z.string().min(1),
    table: z.string().min(1),
    /** Alternate-key columns that identify a row; the app side of each is a mapped field. */
    key: z.array(z.string().min(1)).min(1),
    /** Primary id column; default `<table>id`. */
    primaryId: z.string().min(1).optional(),
    /** Safe filter expression over the Dataverse row's mapped columns. */
    filter: z.string().min(1).optional(),
  }),
  direction: Direction.default("both"),
  conflict: z.strictObject({
    strategy: z.enum(["newest-wins", "dataverse-wins", "app-wins", "manual"]).default("newest-wins"),
  }).default({ strategy: "newest-wins" }),
  deletes: z.enum(["propagate", "deactivate", "ignore"]).default("ignore"),
  /** A code-level custom record mapper registered by name (shared/sync/mappers.ts). */
  mapper: z.string().min(1).optional(),
  fields: z.array(FieldMapping).min(1),
});
export type Mapping = z.infer<typeof Mapping>;

export const SyncOptions = z.strictObject({
  /** Share of a mapping's linked records that one run may delete before deletes stop (0..1). */
  massDeleteShare: z.number().min(0).max(1).default(0.2),
  /** The breaker only trips when at least this many deletes are planned. */
  massDeleteMinimum: z.number().int().min(0).default(10),
  /** Health turns 503 when a mapping's last success is older than this. */
  stalenessHours: z.number().positive().default(26),
  /** Attempts per record write before it is dead-lettered. */
  maxAttempts: z.number().int().min(1).max(20).default(5),
  /** Webhook bodies above this are refused with 413 (never below 256 KB, what Dataverse sends). */
  webhookMaxBodyBytes: z.number().int().min(262_144).default(524_288),
  /** Records per write message / bulk request. */
  chunkSize: z.number().int().min(1).max(1000).default(100),
});
export type SyncOptions = z.infer<typeof SyncOptions>;

export const SyncConfig = z.strictObject({
  $schema: z.string().optional(),
  /** NCRONTAB with seconds, UTC: `{second} {minute} {hour} {day} {month} {day-of-week}`. */
  schedule: z.string().default("0 0 2 * * *"),
  options: SyncOptions.default(SyncOptions.parse({})),
  mappings: z.array(Mapping).min(1),
});
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
