/**
 * Per-type conversions between each side's raw value and the canonical value (see values.ts for
 * the contract). Null never reaches these functions; values.ts handles it. A converter that cannot
 * map a value throws `Rejected` with the reason, and values.ts turns it into a SyncError that names
 * the field and the value.
 */
import type { FieldMapping, FieldType, StatusPair } from "../config/mapping.js";
import { jsonNumber, numberText, type ExactNumber } from "../http/exactJson.js";
import { toFiniteNumber, toFixedDecimal } from "./decimals.js";
import { parseDateOnly, parseDateTime } from "./temporal.js";

export class Rejected extends Error {}

export interface TypeConverter {
  fromApp(value: unknown, field: FieldMapping): unknown;
  fromDataverse(value: unknown, field: FieldMapping): unknown;
  toApp(canonical: unknown, field: FieldMapping): unknown;
  toDataverse(canonical: unknown, field: FieldMapping): unknown;
}

/** decimal: Dataverse's own default is 2, but 4 keeps more of what an app holds; money is cents. */
export const DEFAULT_PRECISION = { decimal: 4, money: 2 } as const;

function text(value: unknown): string {
  if (typeof value !== "string") throw new Rejected("expected a string");
  return value;
}

function finite(value: unknown): number {
  const n = toFiniteNumber(value instanceof Number ? value.valueOf() : value);
  if (n === undefined) throw new Rejected("expected a finite number");
  return n;
}

function fixed(value: unknown, field: FieldMapping): string {
  const precision = field.precision ?? (field.type === "money" ? DEFAULT_PRECISION.money : DEFAULT_PRECISION.decimal);
  // An ExactNumber (a JSON number a double cannot hold, see exactJson.ts) is rounded from its digits.
  const result = toFixedDecimal(numberText(value), precision);
  if (result === undefined) throw new Rejected("expected a finite number within range");
  return result;
}

function canonicalFixed(value: unknown, field: FieldMapping): number | ExactNumber {
  // Re-round so a base stored with an older precision still writes what the mapping says now.
  // The digits go into the JSON text as they are: never through a double that cannot hold them.
  return jsonNumber(fixed(value, field));
}

function date(value: unknown): string {
  const parsed = typeof value === "string" ? parseDateOnly(value) : undefined;
  if (parsed === undefined) throw new Rejected('expected a real calendar date "YYYY-MM-DD" (1753-9999) or an ISO date-time at 00:00:00Z');
  return parsed;
}

function dateTime(value: unknown): string {
  const parsed = typeof value === "string" ? parseDateTime(value) : undefined;
  if (parsed === undefined) throw new Rejected("expected an ISO-8601 date-time with a time zone offset (years 1753-9999)");
  return parsed;
}

function appBoolean(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new Rejected('expected true, false, "true" or "false"');
}

function strictBoolean(value: unknown): boolean {
  if (typeof value !== "boolean") throw new Rejected("expected true or false");
  return value;
}

/** A field's map of app values (choices or statuses); an empty one maps nothing. */
function mapOf<T>(map: Record<string, T> | undefined, what: string): Record<string, T> {
  if (!map || Object.keys(map).length === 0) throw new Rejected(`the mapping defines no ${what} for this field`);
  return map;
}

const choicesOf = (field: FieldMapping) => mapOf(field.choices, "choices");
const statusesOf = (field: FieldMapping) => mapOf(field.statuses, "statuses");

/** `value` as an app value of `map` (one of its keys). */
function appKey(value: unknown, map: Record<string, unknown>, what: string): string {
  if (typeof value !== "string" || !Object.hasOwn(map, value)) {
    throw new Rejected(`not one of the ${what} ${Object.keys(map).map((k) => JSON.stringify(k)).join(", ")}`);
  }
  return value;
}

/** The app value whose Dataverse number is `n`. */
function appKeyOfNumber(n: unknown, numbers: Record<string, number>, what: string): string {
  const key = Object.keys(numbers).find((k) => numbers[k] === n);
  if (key === undefined) throw new Rejected(`not one of the ${what} ${Object.values(numbers).join(", ")}`);
  return key;
}

const choiceKey = (value: unknown, field: FieldMapping) => appKey(value, choicesOf(field), "choices");
const choiceKeyOfOption = (option: unknown, field: FieldMapping) => appKeyOfNumber(option, choicesOf(field), "option values");
const statusKey = (value: unknown, field: FieldMapping) => appKey(value, statusesOf(field), "statuses");

/** In Dataverse each status reason belongs to one state, so the statuscode alone names the pair. */
function statusKeyOfReason(statuscode: unknown, field: FieldMapping): string {
  const reasons = Object.fromEntries(Object.entries(statusesOf(field)).map(([k, pair]) => [k, pair.status]));
  return appKeyOfNumber(statuscode, reasons, "status reasons");
}

/** The statecode/statuscode pair a canonical status value stands for (both are written together). */
export function statusPairOf(canonical: unknown, field: FieldMapping): StatusPair {
  return statusesOf(field)[statusKey(canonical, field)];
}

function sortedKeys(keys: string[]): string[] {
  return [...new Set(keys)].sort();
}

function multichoiceFromApp(value: unknown, field: FieldMapping): string[] {
  if (!Array.isArray(value)) throw new Rejected("expected an array of choices");
  return sortedKeys(value.map((item) => choiceKey(item, field)));
}

function multichoiceFromDataverse(value: unknown, field: FieldMapping): string[] {
  // Read back as "2,3,8,9"; a single option may also arrive as a bare number.
  const parts = typeof value === "number" ? [String(value)] : typeof value === "string" ? value.split(",").map((p) => p.trim()) : undefined;
  if (parts === undefined) throw new Rejected("expected a comma-separated list of option values");
  if (parts.length === 1 && parts[0] === "") return [];
  return sortedKeys(parts.map((p) => {
    if (!/^-?\d+$/.test(p)) throw new Rejected(`"${p}" is not an option value`);
    return choiceKeyOfOption(Number(p), field);
  }));
}

function multichoiceToDataverse(canonical: unknown, field: FieldMapping): string | null {
  const keys = multichoiceFromApp(canonical, field);
  // Dataverse cannot store an empty selection; it reads back as null either way.
  if (keys.length === 0) return null;
  const choices = choicesOf(field);
  return keys.map((k) => choices[k]).join(",");
}

function reference(value: unknown): string {
  if (typeof value !== "string" || value === "") throw new Rejected("expected a non-empty id string");
  return value;
}

function resolvedByPlanner(): never {
  throw new Rejected("lookup and owner values are resolved by the planner through the link map, not converted here");
}

const same = <T>(fn: (v: unknown, f: FieldMapping) => T) => ({ fromApp: fn, fromDataverse: fn, toApp: fn, toDataverse: fn });

export const typeConverters: Readonly<Record<FieldType, TypeConverter>> = {
  string: same(text),
  number: same(finite),
  decimal: { fromApp: fixed, fromDataverse: fixed, toApp: canonicalFixed, toDataverse: canonicalFixed },
  money: { fromApp: fixed, fromDataverse: fixed, toApp: canonicalFixed, toDataverse: canonicalFixed },
  boolean: { fromApp: appBoolean, fromDataverse: strictBoolean, toApp: strictBoolean, toDataverse: strictBoolean },
  date: same(date),
  datetime: same(dateTime),
  choice: {
    fromApp: choiceKey,
    fromDataverse: choiceKeyOfOption,
    toApp: choiceKey,
    toDataverse: (canonical, field) => choicesOf(field)[choiceKey(canonical, field)],
  },
  multichoice: {
    fromApp: multichoiceFromApp,
    fromDataverse: multichoiceFromDataverse,
    toApp: multichoiceFromApp,
    toDataverse: multichoiceToDataverse,
  },
  status: {
    fromApp: statusKey,
    fromDataverse: statusKeyOfReason,
    toApp: statusKey,
    toDataverse: (canonical, field) => statusPairOf(canonical, field).status,
  },
  lookup: { fromApp: reference, toApp: reference, fromDataverse: resolvedByPlanner, toDataverse: resolvedByPlanner },
  owner: { fromApp: reference, toApp: reference, fromDataverse: resolvedByPlanner, toDataverse: resolvedByPlanner },
};
