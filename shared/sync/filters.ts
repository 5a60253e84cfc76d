/**
 * Safe record filters from the mapping file (`"filter": "score >= 50 and isPublic"`), compiled with
 * filtrex: the expression becomes a closed function over the record, never `eval`, and it can only
 * reach the record's own properties and the functions listed here.
 *
 * Filtrex reports unknown functions only when the expression runs; we check them at compile time so
 * a typo fails start-up instead of silently filtering out every record. Run-time errors (a missing
 * property, a text compared with `<`) make that record not match, and are reported to `onError`.
 */
import { compileExpression } from "filtrex";
import { ErrorCodes, SyncError } from "../errors.js";
import { parseDateOnly, parseDateTime } from "./temporal.js";

export type RecordFilter = (record: Record<string, unknown>) => boolean;

export interface FilterOptions {
  /** Clock for `daysSince`, in ms since the epoch; default `Date.now`. */
  now?: () => number;
  /** Told about each record the expression could not be evaluated on (it counts as not matching). */
  onError?: (error: Error, record: Record<string, unknown>) => void;
}

const BUILTIN_FUNCTIONS = ["abs", "ceil", "floor", "log", "log2", "log10", "max", "min", "round", "sqrt", "exists", "empty"];
/** Words filtrex reads as operators; `in (a, b)` and `not (x)` are not function calls. */
const KEYWORDS = new Set(["in", "not", "and", "or", "if", "then", "else", "of", "mod"]);
const DAY_MS = 86_400_000;

function toInstant(value: unknown): number {
  if (typeof value !== "string") throw new TypeError(`daysSince() expects a date text, got ${value === null ? "null" : typeof value}`);
  const iso = parseDateTime(value) ?? (parseDateOnly(value) !== undefined ? `${parseDateOnly(value)}T00:00:00Z` : undefined);
  if (iso === undefined) throw new TypeError(`daysSince() cannot read the date "${value}"`);
  return Date.parse(iso);
}

function textArg(name: string, value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`${name}() expects a text, got ${value === null ? "null" : typeof value}`);
  return value;
}

function extraFunctions(now: () => number): Record<string, (...args: unknown[]) => unknown> {
  return {
    /** Whole days from the date to now; negative for future dates. */
    daysSince: (date) => Math.floor((now() - toInstant(date)) / DAY_MS),
    lower: (s) => textArg("lower", s).toLowerCase(),
    upper: (s) => textArg("upper", s).toUpperCase(),
    trim: (s) => textArg("trim", s).trim(),
    len: (s) => (Array.isArray(s) ? s.length : textArg("len", s).length),
    contains: (s, part) => (Array.isArray(s) ? s.includes(part) : textArg("contains", s).includes(textArg("contains", part))),
    startsWith: (s, part) => textArg("startsWith", s).startsWith(textArg("startsWith", part)),
    endsWith: (s, part) => textArg("endsWith", s).endsWith(textArg("endsWith", part)),
  };
}

/** Names called as functions in the expression, outside string literals and quoted symbols. */
function calledFunctions(expression: string): string[] {
  const names: string[] = [];
  const token = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|([A-Za-z_$][A-Za-z0-9_$.]*)\s*\(/g;
  for (const match of expression.matchAll(token)) {
    if (match[1] !== undefined && !KEYWORDS.has(match[1])) names.push(match[1]);
  }
  return names;
}

function invalid(expression: string, reason: string, cause?: unknown): SyncError {
  return new SyncError("validation", ErrorCodes.InvalidConfig, `Invalid filter ${JSON.stringify(expression)}: ${reason}`, { cause });
}

/** Names of the functions a filter may call (for docs and the config validator's messages). */
export const filterFunctions: readonly string[] = [...BUILTIN_FUNCTIONS, ...Object.keys(extraFunctions(Date.now))].sort();

/**
 * Compiles a filter expression; throws SyncError validation INVALID_CONFIG naming the problem when
 * it does not parse or calls an unknown function. `true`, `false` and `null` are constants.
 */
export function compileFilter(expression: string, options: FilterOptions = {}): RecordFilter {
  if (expression.trim() === "") throw invalid(expression, "the expression is empty");
  const unknown = calledFunctions(expression).filter((name) => !filterFunctions.includes(name));
  if (unknown.length > 0) {
    throw invalid(expression, `unknown function ${unknown.map((n) => `${n}()`).join(", ")}; available: ${filterFunctions.join(", ")}`);
  }
  let compiled: (record: unknown) => unknown;
  try {
    compiled = compileExpression(expression, {
      extraFunctions: extraFunctions(options.now ?? Date.now),
      constants: { true: true, false: false, null: null },
    });
  } catch (e) {
    throw invalid(expression, (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " "), e);
  }
  return (record) => {
    let result: unknown;
    try {
      result = compiled(record);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    if (result instanceof Error) {
      options.onError?.(result, record);
      return false;
    }
    return Boolean(result);
  };
}
