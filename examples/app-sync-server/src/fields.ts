/**
 * What each entity's `data` may hold, checked on every POST and PATCH. The types are the wire
 * formats of docs/openapi/app-sync-api.json (`FieldValue…` schemas), one per mapping field type,
 * so a value the sync sends always passes and a value it could not map never gets in.
 */
import { isExactNumber, rawText } from "./exactJson.js";

export type FieldSpec =
  | { type: "string" | "boolean" | "date" | "datetime" | "owner"; nullable?: boolean }
  | { type: "number"; integer?: boolean; nullable?: boolean }
  /** Exact decimal; `precision` = digits after the point the app keeps (default: any). */
  | { type: "decimal" | "money"; precision?: number; nullable?: boolean }
  /** `values`: the keys of the mapping field's `choices` (for `status`, of its `statuses`). */
  | { type: "choice" | "multichoice" | "status"; values: string[]; nullable?: boolean }
  /** The app id of a live record of `entity` (the parent mapping's app entity). */
  | { type: "lookup"; entity: string; nullable?: boolean };

export type EntityDefinitions = Record<string, Record<string, FieldSpec>>;

/** Looks up whether a referenced record exists (lookups). */
export type Exists = (entity: string, id: string) => Promise<boolean>;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

export interface Reference {
  field: string;
  entity: string;
  id: string;
}

/** The first problem with `data` for `entity` apart from lookups, and the records its lookups name. */
export function checkData(definitions: EntityDefinitions, entity: string, data: Record<string, unknown>): { problem?: string; references: Reference[] } {
  const references: Reference[] = [];
  if ("id" in data) return { problem: "id must not be inside data", references };
  const fields = definitions[entity] ?? {};
  for (const [name, value] of Object.entries(data)) {
    const spec = fields[name];
    if (!spec) return { problem: `${name} is not a field of ${entity}`, references };
    if (value === null) {
      if (spec.nullable === false) return { problem: `${name} must not be null`, references };
      continue;
    }
    const problem = checkValue(spec, value);
    if (problem) return { problem: `${name} ${problem}`, references };
    if (spec.type === "lookup") references.push({ field: name, entity: spec.entity, id: value as string });
  }
  return { references };
}

/** The first problem with `data` for `entity`, as a message naming the field; undefined when valid. */
export async function validateData(definitions: EntityDefinitions, entity: string, data: Record<string, unknown>, exists: Exists): Promise<string | undefined> {
  const { problem, references } = checkData(definitions, entity, data);
  if (problem) return problem;
  for (const r of references) if (!(await exists(r.entity, r.id))) return referenceProblem(r);
  return undefined;
}

export function referenceProblem(r: Reference): string {
  return `${r.field} refers to ${r.entity} ${r.id}, which does not exist`;
}

function checkValue(spec: FieldSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case "string":
    case "owner":
      return typeof value === "string" ? undefined : "must be a string";
    case "lookup":
      return typeof value === "string" && value !== "" ? undefined : `must be the id of a ${spec.entity}`;
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be a boolean";
    case "number":
      if (typeof value !== "number" && !isExactNumber(value)) return "must be a number";
      return spec.integer && !Number.isSafeInteger(value) ? "must be an integer" : undefined;
    case "decimal":
    case "money":
      return checkDecimal(spec.precision, value);
    case "date":
      return typeof value === "string" && isCalendarDate(value) ? undefined : "must be a date (YYYY-MM-DD)";
    case "datetime":
      return typeof value === "string" && DATETIME.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : "must be an ISO 8601 date-time with an offset";
    case "choice":
    case "status":
      return typeof value === "string" && spec.values.includes(value) ? undefined : `must be one of ${spec.values.join(", ")}`;
    case "multichoice":
      return Array.isArray(value) && value.every((v) => typeof v === "string" && spec.values.includes(v))
        ? undefined : `must be an array of ${spec.values.join(", ")}`;
  }
}

/** A JSON number (kept exact, see exactJson.ts) with at most `precision` digits after the point. */
function checkDecimal(precision: number | undefined, value: unknown): string | undefined {
  const text = rawText(value);
  if (text === undefined) return "must be a number";
  // `1e-7` is what JSON.stringify writes for 0.0000001: count the digits the value really has.
  const m = /^-?\d+(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  const digits = m ? Math.max(0, (m[1] ?? "").replace(/0+$/, "").length - Number(m[2] ?? 0)) : 0;
  return precision !== undefined && digits > precision ? `must have at most ${precision} digits after the point` : undefined;
}

function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}
