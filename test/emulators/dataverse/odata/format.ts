import { Errors } from "../dataverseErrors.js";
import { etagOf } from "../entities.js";
import { isLookupType, type ColumnDef, type TableDef } from "../schema.js";
import type { Row, Store } from "../store.js";
import { formattedValue, isLookupValue } from "../values.js";
import { resolveProperty } from "./filter.js";
import { Annotation, wantsAnnotation } from "./prefer.js";

/** How rows are written on the wire for one request. */
export interface RowShape {
  /** Columns to return; undefined = all columns. The primary id is always returned. */
  columns?: ColumnDef[];
  annotations?: string;
}

/** Parses `$select` into columns; lookups must be named `_x_value` like Dataverse requires. */
export function parseSelect(def: TableDef, select: string | null): ColumnDef[] | undefined {
  if (select === null || select.trim() === "") return undefined;
  const names = select.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.includes("*")) return undefined;
  return names.map((n) => resolveProperty(def, n));
}

/** The `(a,b)` part of `@odata.context`, echoing `$select` as given. */
export function selectSuffix(select: string | null): string {
  return select && select.trim() ? `(${select.split(",").map((s) => s.trim()).join(",")})` : "";
}

/** Serialises one row as Dataverse would: `@odata.etag`, values, `_x_value` lookups, annotations. */
export function formatRow(def: TableDef, row: Row, shape: RowShape, store: Store): Record<string, unknown> {
  const out: Record<string, unknown> = { "@odata.etag": etagOf(row) };
  const columns = shape.columns ?? def.columns;
  const wantFormatted = wantsAnnotation(shape.annotations, Annotation.formatted);
  const wantLookupName = wantsAnnotation(shape.annotations, Annotation.lookupLogicalName);
  const wantNav = wantsAnnotation(shape.annotations, Annotation.associatedNav);
  const lookupName = (ref: { id: string; logicalName: string }) => {
    const target = store.schema.tables.get(ref.logicalName);
    const name = target ? store.get(ref.logicalName, ref.id)?.[target.primaryName] : undefined;
    return typeof name === "string" ? name : undefined;
  };
  for (const c of columns) {
    const value = row[c.name] ?? null;
    if (isLookupType(c.type)) {
      const prop = `_${c.name}_value`;
      const ref = isLookupValue(value) ? value : null;
      if (ref && wantFormatted) {
        const name = lookupName(ref);
        if (name !== undefined) out[`${prop}@${Annotation.formatted}`] = name;
      }
      if (ref && wantNav) out[`${prop}@${Annotation.associatedNav}`] = navigationFor(c, ref.logicalName);
      if (ref && wantLookupName) out[`${prop}@${Annotation.lookupLogicalName}`] = ref.logicalName;
      out[prop] = ref ? ref.id : null;
      continue;
    }
    if (wantFormatted) {
      const f = formattedValue(c, value);
      if (f !== undefined) out[`${c.name}@${Annotation.formatted}`] = f;
    }
    out[c.name] = value;
  }
  if (shape.columns && !shape.columns.some((c) => c.name === def.primaryId)) out[def.primaryId] = row[def.primaryId];
  return out;
}

function navigationFor(column: ColumnDef, target: string): string {
  const perTarget = column.navigationProperties?.[target];
  return perTarget ?? column.navigationProperty ?? column.name;
}

/** `$orderby` -> comparator over rows (nulls first ascending, like SQL Server). */
export function parseOrderBy(def: TableDef, orderby: string | null): ((a: Row, b: Row) => number) | undefined {
  if (!orderby || !orderby.trim()) return undefined;
  const terms = orderby.split(",").map((t) => t.trim()).filter(Boolean).map((t) => {
    const [name, dir, extra] = t.split(/\s+/);
    if (extra !== undefined || (dir !== undefined && dir !== "asc" && dir !== "desc")) throw Errors.badQuery(`Syntax error in $orderby '${orderby}'.`);
    return { column: resolveProperty(def, name), sign: dir === "desc" ? -1 : 1 };
  });
  return (a, b) => {
    for (const { column, sign } of terms) {
      const c = compareValues(a[column.name], b[column.name]);
      if (c !== 0) return c * sign;
    }
    return 0;
  };
}

export function compareValues(a: unknown, b: unknown): number {
  const x = norm(a);
  const y = norm(b);
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return x < y ? -1 : 1;
}

function norm(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (isLookupValue(v)) return v.id;
  return typeof v === "string" ? v.toLowerCase() : (v as number | boolean);
}
