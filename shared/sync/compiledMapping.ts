import { fieldDirection, primaryIdOf, type FieldMapping, type Mapping } from "../config/mapping.js";
import { ErrorCodes, SyncError } from "../errors.js";
import type { AppRecord, Canonical, DataverseRow, KeyValues } from "../ports.js";
import { compileFilter } from "./filters.js";
import type { LookupResolver } from "./lookups.js";
import type { MergeField } from "./merge.js";
import type { Registry } from "./registry.js";
import {
  appToCanonical, canonicalToApp, canonicalToDataverse, canonicalToDataverseColumns, dataverseToCanonical, lookupBindProperty, lookupReadProperty,
} from "./values.js";

/** The app-side name that stands for the record id (it is not inside `data`). */
export const APP_ID_FIELD = "id";

const isReference = (f: FieldMapping) => f.type === "lookup" || f.type === "owner";

/** A mapping prepared once per run: field lists, `$select`, key handling, filters, conversions. */
export class CompiledMapping {
  readonly name: string;
  readonly primaryId: string;
  readonly select: string[];
  readonly mergeFields: MergeField[];
  /** Dataverse key columns and the app fields that feed them. */
  readonly keyFields: FieldMapping[];
  private readonly appFilter?: (r: Record<string, unknown>) => boolean;
  private readonly dvFilter?: (r: Record<string, unknown>) => boolean;

  constructor(readonly mapping: Mapping, private readonly registry: Registry) {
    this.name = mapping.name;
    this.primaryId = primaryIdOf(mapping);
    this.mergeFields = mapping.fields.map((f) => ({ name: f.app, direction: fieldDirection(mapping, f) }));
    this.keyFields = mapping.dataverse.key.map((column) => {
      const field = mapping.fields.find((f) => f.dataverse === column);
      if (!field) throw new SyncError("validation", ErrorCodes.InvalidConfig, `mapping ${mapping.name}: key column ${column} is not a mapped field`);
      return field;
    });
    const columns = new Set<string>([this.primaryId, "modifiedon", "_modifiedby_value", "versionnumber", "statecode"]);
    for (const f of mapping.fields) columns.add(isReference(f) ? lookupReadProperty(f) : f.dataverse);
    this.select = [...columns];
    if (mapping.app.filter) this.appFilter = compileFilter(mapping.app.filter);
    if (mapping.dataverse.filter) this.dvFilter = compileFilter(mapping.dataverse.filter);
  }

  get fields(): FieldMapping[] {
    return this.mapping.fields;
  }

  /** Fields whose key value is the app record id (written back to Dataverse after an app create). */
  get idKeyFields(): FieldMapping[] {
    return this.keyFields.filter((f) => f.app === APP_ID_FIELD);
  }

  /**
   * The app id a Dataverse row names in its key, when the key is the app id alone (undefined
   * otherwise, or when the row's key is empty): the row claims to be that app record's row.
   */
  appIdOfRow(row: DataverseRow): string | undefined {
    const column = this.idKeyColumn;
    const v = column ? row[column] : undefined;
    return typeof v === "string" && v ? v : undefined;
  }

  /** The Dataverse column of a key made of the app id alone (undefined for any other key). */
  get idKeyColumn(): string | undefined {
    return this.keyFields.length === 1 && this.idKeyFields.length === 1 ? this.idKeyFields[0].dataverse : undefined;
  }

  acceptsApp(record: AppRecord): boolean {
    return !this.appFilter || !record.data || this.appFilter({ id: record.id, ...record.data });
  }

  acceptsDataverse(row: DataverseRow): boolean {
    return !this.dvFilter || this.dvFilter(row);
  }

  /**
   * Canonical values of an app record. Throws UNMAPPABLE_VALUE for a value that cannot be mapped, and
   * UNEXPECTED_RESPONSE for a record the app sent in a shape the contract does not allow (a live
   * record without data never stands for "every field null"). A field absent from `data` (and without
   * a `default`) is absent from the values too: no value given, which is not null (decide.ts).
   */
  appToCanonical(record: AppRecord): Canonical {
    if (record.problem || (!record.deleted && record.data === null)) {
      throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: ${this.name}: ${record.problem ?? `app record ${JSON.stringify(record.id)} is live but has no data`}`);
    }
    const data = record.data ?? {};
    let values: Canonical = {};
    for (const f of this.fields) {
      if (f.app !== APP_ID_FIELD && !Object.hasOwn(data, f.app) && f.default === undefined) continue;
      const raw = f.app === APP_ID_FIELD ? record.id : data[f.app];
      values[f.app] = isReference(f) ? (raw ?? f.default ?? null) : appToCanonical(f, raw, this.registry);
    }
    const mapper = this.recordMapper();
    if (mapper?.fromApp) values = mapper.fromApp(data, values);
    return values;
  }

  /** Canonical values of a Dataverse row; lookups resolve to app ids through `lookups`. */
  /**
   * The same, without waiting, when every lookup of the row has a known answer (undefined otherwise):
   * the echo check runs it on every row of a delta, a million after a large load.
   */
  dataverseToCanonicalNow(row: DataverseRow, lookups: LookupResolver): Canonical | undefined {
    let values: Canonical = {};
    for (const f of this.fields) {
      if (!this.given(row, f)) continue;
      if (isReference(f)) {
        const id = row[lookupReadProperty(f)];
        if (id == null) values[f.app] = f.default ?? null;
        else {
          const known = lookups.knownToApp?.(this.mapping, f, String(id));
          if (known === undefined) return undefined;
          values[f.app] = known;
        }
      } else {
        values[f.app] = dataverseToCanonical(f, row[f.dataverse], this.registry);
      }
    }
    const mapper = this.recordMapper();
    if (mapper?.fromDataverse) values = mapper.fromDataverse(row, values);
    return values;
  }

  async dataverseToCanonical(row: DataverseRow, lookups: LookupResolver): Promise<Canonical> {
    let values: Canonical = {};
    for (const f of this.fields) {
      if (!this.given(row, f)) continue;
      if (isReference(f)) {
        const id = row[lookupReadProperty(f)];
        values[f.app] = id == null ? (f.default ?? null) : await lookups.toApp(this.mapping, f, String(id));
      } else {
        values[f.app] = dataverseToCanonical(f, row[f.dataverse], this.registry);
      }
    }
    const mapper = this.recordMapper();
    if (mapper?.fromDataverse) values = mapper.fromDataverse(row, values);
    return values;
  }

  /**
   * Whether the row's JSON holds the field's column at all. Dataverse sends every selected column,
   * null ones as null; a column missing from the JSON is no value given, never a null to write over
   * the other side (without a `default`, which stands for missing values by definition).
   */
  private given(row: DataverseRow, f: FieldMapping): boolean {
    return f.default !== undefined || Object.hasOwn(row, isReference(f) ? lookupReadProperty(f) : f.dataverse);
  }

  /** App `data` for the given canonical values (the id field never goes inside data). */
  toAppData(values: Canonical): Record<string, unknown> {
    let data: Record<string, unknown> = {};
    for (const f of this.fields) {
      if (!(f.app in values) || f.app === APP_ID_FIELD) continue;
      data[f.app] = isReference(f) ? values[f.app] : canonicalToApp(f, values[f.app], this.registry);
    }
    const mapper = this.recordMapper();
    if (mapper?.toApp) data = mapper.toApp(values, data);
    return data;
  }

  /** Dataverse body for the given canonical values; lookups become `nav@odata.bind`. */
  async toDataverseBody(values: Canonical, lookups: LookupResolver): Promise<Record<string, unknown>> {
    let body: Record<string, unknown> = {};
    for (const f of this.fields) {
      if (!(f.app in values)) continue;
      const v = values[f.app];
      if (isReference(f)) body[lookupBindProperty(f)] = v == null ? null : await lookups.toDataverseBind(this.mapping, f, String(v));
      else Object.assign(body, canonicalToDataverseColumns(f, v, this.registry));
    }
    const mapper = this.recordMapper();
    if (mapper?.toDataverse) body = mapper.toDataverse(values, body);
    return body;
  }

  /** Alternate-key values for a record given its canonical values, or null when a key part is empty. */
  keyOf(values: Canonical): KeyValues | null {
    const key: KeyValues = {};
    for (const f of this.keyFields) {
      const v = values[f.app];
      if (v === null || v === undefined || v === "") return null;
      key[f.dataverse] = canonicalToDataverse(f, v, this.registry) as string | number;
    }
    return key;
  }

  /** Key string of a Dataverse row straight from its key columns (no lookup resolution). */
  keyStringOfRow(row: DataverseRow): string | null {
    const values: Canonical = {};
    try {
      for (const f of this.keyFields) values[f.app] = dataverseToCanonical(f, row[f.dataverse], this.registry);
    } catch {
      return null;
    }
    return this.keyString(values);
  }

  /** Stable string for matching keys across sides. */
  keyString(values: Canonical): string | null {
    const key = this.keyOf(values);
    return key ? JSON.stringify(this.keyFields.map((f) => key[f.dataverse])) : null;
  }

  /** Field names that go to the app / to Dataverse (direction-aware). */
  writableTo(side: "app" | "dataverse"): string[] {
    return this.mergeFields.filter((f) => f.direction === "both" || f.direction === (side === "app" ? "to-app" : "to-dataverse")).map((f) => f.name);
  }

  private recordMapper() {
    return this.registry.recordMapperFor(this.mapping.mapper);
  }
}

export function pick(values: Canonical, names: string[]): Canonical {
  const out: Canonical = {};
  for (const n of names) if (n in values) out[n] = values[n];
  return out;
}
