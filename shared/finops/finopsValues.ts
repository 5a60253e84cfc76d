import type { FinopsField, FinopsFieldType, FinopsJob } from "../config/finopsJob.js";
import { keyFieldsOf } from "../config/finopsJob.js";
import { ErrorCodes, SyncError } from "../errors.js";

/**
 * App values <-> the text of an F&O file. F&O's CSV formats are configured per data project; these
 * are the defaults of a "CSV" source data format (comma, header row, UTF-8): booleans Yes/No,
 * dates YYYY-MM-DD, date-times ISO 8601 in UTC, decimals with a point and no grouping.
 */
function unmappable(field: FinopsField, value: unknown, why: string): SyncError {
  return new SyncError("validation", ErrorCodes.Unmappable, `field "${field.app}" (${field.finops}, ${field.type}): ${why}; got ${JSON.stringify(value)?.slice(0, 80)}`);
}

export function toFinopsText(field: FinopsField, value: unknown): string {
  if (value === null || value === undefined || value === "") return "";
  switch (field.type) {
    case "string":
      return typeof value === "object" ? JSON.stringify(value) : String(value);
    case "number":
    case "decimal": {
      const text = String(value).trim();
      if (typeof value === "boolean" || !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw unmappable(field, value, "expected a number");
      return text;
    }
    case "boolean":
      if (typeof value !== "boolean") throw unmappable(field, value, "expected true or false");
      return value ? "Yes" : "No";
    case "date": {
      const m = /^(\d{4}-\d{2}-\d{2})/.exec(String(value));
      if (!m || Number.isNaN(Date.parse(m[1]))) throw unmappable(field, value, "expected a date (YYYY-MM-DD)");
      return m[1];
    }
    case "datetime": {
      const ms = Date.parse(String(value));
      if (Number.isNaN(ms)) throw unmappable(field, value, "expected an ISO 8601 date-time");
      return new Date(ms).toISOString();
    }
  }
}

const TRUE = new Set(["yes", "true", "1"]);
const FALSE = new Set(["no", "false", "0"]);

export function fromFinopsText(field: FinopsField, text: string | undefined): unknown {
  if (text === undefined || text === "") return null;
  const type: FinopsFieldType = field.type;
  switch (type) {
    case "string":
      return text;
    case "number":
    case "decimal": {
      const n = Number(text.trim());
      if (!text.trim() || !Number.isFinite(n)) throw unmappable(field, text, "expected a number");
      return n;
    }
    case "boolean": {
      const t = text.trim().toLowerCase();
      if (TRUE.has(t)) return true;
      if (FALSE.has(t)) return false;
      throw unmappable(field, text, "expected Yes or No");
    }
    case "date": {
      const m = /^(\d{4}-\d{2}-\d{2})/.exec(text.trim());
      if (!m) throw unmappable(field, text, "expected a date (YYYY-MM-DD)");
      return m[1];
    }
    case "datetime": {
      const raw = text.trim();
      // F&O writes date-times without a zone in UTC.
      const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(raw) ? raw : `${raw}Z`);
      if (Number.isNaN(ms)) throw unmappable(field, text, "expected a date-time");
      return new Date(ms).toISOString();
    }
  }
}

/** The job's key of an F&O row (its key fields' text, joined by "|"); undefined when a part is empty. */
export function keyOfRow(job: FinopsJob, row: Record<string, string | undefined>): string | undefined {
  const parts = keyFieldsOf(job).map((f) => findColumn(row, f) ?? "");
  return parts.some((p) => p === "") ? undefined : parts.join("|");
}

/** A column by name, case-insensitively (F&O's header case is the entity's, not necessarily the mapping's). */
export function findColumn(row: Record<string, string | undefined>, name: string): string | undefined {
  if (name in row) return row[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(row)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
