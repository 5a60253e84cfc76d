import { Codes, Errors } from "./dataverseErrors.js";
import { isLookupType, ReadOnlyColumns, type ColumnDef, type TableDef } from "./schema.js";
import type { Row } from "./store.js";
import { DataverseFault, type LookupValue } from "./types.js";
import { GuidPattern, toStoredValue } from "./values.js";

/** Resolves an `@odata.bind` URL to the record it names (throws the documented faults). */
export type BindResolver = (url: string, property: string, column: ColumnDef, target: string | undefined) => LookupValue;

export interface ConvertedBody {
  /** Column -> stored value for the columns this request writes. */
  values: Record<string, unknown>;
  /** Client-supplied primary id (create only). */
  id?: string;
}

/**
 * Turns a Web API JSON body into stored column values: validates types, choices and lengths,
 * resolves `@odata.bind`, ignores annotations and platform-maintained columns like Dataverse does.
 */
export function convertBody(def: TableDef, body: Record<string, unknown>, bind: BindResolver): ConvertedBody {
  const values: Record<string, unknown> = {};
  let id: string | undefined;
  for (const [name, raw] of Object.entries(body)) {
    const at = name.indexOf("@");
    if (at >= 0) {
      if (!name.endsWith("@odata.bind") || at === 0) continue; // @odata.type, @odata.etag, …
      const nav = name.slice(0, at);
      const entry = def.navMap.get(nav);
      if (!entry) {
        throw Errors.payload(def.entitySetName,
          `An undeclared property '${nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`);
      }
      if (raw === null) values[entry.column.name] = null;
      else if (typeof raw === "string") values[entry.column.name] = bind(raw, nav, entry.column, entry.target);
      else throw Errors.invalidBind(JSON.stringify(raw), nav);
      continue;
    }
    const column = def.columnMap.get(name);
    if (!column) throw Errors.unknownProperty(def.logicalName, name);
    if (name === def.primaryId) {
      if (raw === null || raw === undefined) continue;
      if (typeof raw !== "string" || !GuidPattern.test(raw)) throw Errors.payload(def.entitySetName, `Cannot convert the literal '${String(raw)}' to the expected type 'Edm.Guid'.`);
      id = raw.toLowerCase();
      continue;
    }
    if (ReadOnlyColumns.has(name) || column.computed) continue;
    if (isLookupType(column.type)) {
      if (raw !== null) {
        throw Errors.payload(def.entitySetName,
          `A 'PrimitiveValue' node with non-null value was found when trying to read the value of the navigation property '${name}'; use '${column.navigationProperty ?? name}@odata.bind'.`);
      }
      values[name] = null;
      continue;
    }
    values[name] = toStoredValue(def, column, raw);
  }
  return { values, id };
}

/**
 * Fills statecode/statuscode the way Dataverse does: a statecode-only write takes the state's
 * DefaultStatus; a pair that does not belong together fails with 0x80048408.
 */
export function applyStateStatus(def: TableDef, values: Record<string, unknown>, existing: Row | undefined, id: string): void {
  const state = def.columnMap.get("statecode");
  const status = def.columnMap.get("statuscode");
  if (!state || state.type !== "state" || !status || status.type !== "status") return;
  const stateOptions = state.options ?? [];
  if (!existing) {
    if (values.statecode === undefined || values.statecode === null) values.statecode = stateOptions[0]?.value ?? 0;
  }
  const writesState = "statecode" in values && values.statecode !== (existing?.statecode ?? undefined);
  if (values.statecode === null) throw Errors.validation(`The value of 'statecode' on record of type '${def.logicalName}' is required.`);
  const newState = (values.statecode ?? existing?.statecode) as number;
  if ((writesState || !existing) && (values.statuscode === undefined || values.statuscode === null)) {
    values.statuscode = stateOptions.find((o) => o.value === newState)?.defaultStatus ?? null;
  }
  const newStatus = (values.statuscode ?? existing?.statuscode) as number | undefined;
  if (newStatus === undefined || newStatus === null) return;
  const owner = status.options?.find((o) => o.value === newStatus)?.state;
  if (owner !== undefined && owner !== newState) {
    const label = stateOptions.find((o) => o.value === newState)?.label ?? String(newState);
    const tableName = def.logicalName[0].toUpperCase() + def.logicalName.slice(1);
    throw new DataverseFault(400, Codes.invalidStateStatus,
      `${newStatus} is not a valid status code for state code ${tableName}State.${label} on ${def.logicalName} with Id ${id}.`);
  }
}

/** Recomputes server-computed columns (e.g. `fullname`) when one of their sources is written. */
export function applyComputed(def: TableDef, values: Record<string, unknown>, existing: Row | undefined): void {
  for (const c of def.columns) {
    if (!c.computed) continue;
    if (existing && !c.computed.join.some((s) => s in values)) continue;
    const merged = { ...existing, ...values };
    const parts = c.computed.join.map((s) => merged[s]).filter((v) => typeof v === "string" && v.length > 0);
    values[c.name] = parts.length ? parts.join(c.computed.separator ?? " ") : null;
  }
}

/** SystemRequired columns must be present on create and cannot be cleared. */
export function checkRequired(def: TableDef, values: Record<string, unknown>, creating: boolean): void {
  for (const c of def.columns) {
    if (!c.required) continue;
    const missing = creating ? values[c.name] === undefined || values[c.name] === null : c.name in values && values[c.name] === null;
    if (missing) throw Errors.validation(`The value of '${c.name}' on record of type '${def.logicalName}' is required.`);
  }
}
