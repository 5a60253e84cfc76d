import { ExactNumber, jsonNumber } from "../../../shared/http/exactJson.js";
import { toFixedDecimal } from "../../../shared/sync/decimals.js";
import { Codes, Errors } from "./dataverseErrors.js";
import type { ColumnDef, ColumnType, TableDef } from "./schema.js";
import { DataverseFault, type LookupValue } from "./types.js";

export const GuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DatePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const DateTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export const EdmTypes: Record<ColumnType, string> = {
  string: "Edm.String", memo: "Edm.String", int: "Edm.Int32", bigint: "Edm.Int64", decimal: "Edm.Decimal",
  money: "Edm.Decimal", boolean: "Edm.Boolean", date: "Edm.Date", datetime: "Edm.DateTimeOffset",
  choice: "Edm.Int32", multichoice: "Edm.String", lookup: "Edm.Guid", owner: "Edm.Guid", state: "Edm.Int32",
  status: "Edm.Int32", uniqueidentifier: "Edm.Guid",
};

/** Dataverse keeps datetimes at second precision and answers in UTC with a `Z`. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

export function isLookupValue(v: unknown): v is LookupValue {
  return typeof v === "object" && v !== null && typeof (v as LookupValue).id === "string" && typeof (v as LookupValue).logicalName === "string";
}

/** Validates one written value for a non-lookup column and returns the stored form. */
export function toStoredValue(table: TableDef, column: ColumnDef, value: unknown): unknown {
  if (value === null) return null;
  const wrongType = () =>
    Errors.payload(table.entitySetName, `Cannot convert the literal '${typeof value === "object" ? JSON.stringify(value) : String(value)}' to the expected type '${EdmTypes[column.type]}'.`);
  switch (column.type) {
    case "string":
    case "memo": {
      if (typeof value !== "string") throw wrongType();
      const max = column.maxLength ?? (column.type === "memo" ? 2000 : 100);
      if (value.length > max) {
        throw Errors.validation(`The length of the '${column.name}' attribute of the '${table.logicalName}' entity exceeded the maximum allowed length of '${max}'.`);
      }
      return value;
    }
    case "int":
    case "bigint": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw wrongType();
      if (column.type === "int" && (value > 2147483647 || value < -2147483648)) {
        throw Errors.validation(`The value ${value} of '${column.name}' on record of type '${table.logicalName}' is outside the valid range.`);
      }
      return value;
    }
    case "decimal":
    case "money": {
      // The digits as written in the JSON text (request bodies are parsed with exactJson's parseJson,
      // so a value a double cannot hold arrives as an ExactNumber), rounded to the column's precision
      // (2 by default for money and decimal); stored and answered with exactly those digits.
      const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value instanceof ExactNumber ? value.text : undefined;
      const rounded = text === undefined ? undefined : toFixedDecimal(text, column.precision ?? 2);
      if (rounded === undefined) throw wrongType();
      return jsonNumber(rounded);
    }
    case "boolean":
      if (typeof value !== "boolean") throw wrongType();
      return value;
    case "date": {
      const m = typeof value === "string" ? DatePattern.exec(value) : null;
      if (!m || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw wrongType();
      return value;
    }
    case "datetime": {
      if (typeof value !== "string" || !DateTimePattern.test(value) || Number.isNaN(Date.parse(value))) throw wrongType();
      return isoSeconds(Date.parse(value));
    }
    case "choice":
    case "state":
    case "status": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw wrongType();
      checkOption(table, column, value);
      return value;
    }
    case "multichoice": {
      if (typeof value !== "string") throw wrongType();
      const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
      const nums = parts.map((p) => (/^-?\d+$/.test(p) ? Number(p) : NaN));
      if (nums.some((n) => Number.isNaN(n))) throw wrongType();
      for (const n of nums) checkOption(table, column, n);
      return nums.length ? [...new Set(nums)].sort((a, b) => a - b).join(",") : null;
    }
    case "uniqueidentifier":
      if (typeof value !== "string" || !GuidPattern.test(value)) throw wrongType();
      return value.toLowerCase();
    default:
      throw new DataverseFault(400, Codes.payload, `Column '${column.name}' cannot be written directly.`);
  }
}

function checkOption(table: TableDef, column: ColumnDef, value: number): void {
  const options = column.options ?? [];
  if (!options.some((o) => o.value === value)) {
    throw new DataverseFault(400, Codes.optionOutOfRange,
      `A validation error occurred. The value ${value} of '${column.name}' on record of type '${table.logicalName}' is outside the valid range. Accepted Values: ${options.map((o) => o.value).join(",")}`);
  }
}

/** The `OData.Community.Display.V1.FormattedValue` text for a stored value, if Dataverse gives one. */
export function formattedValue(column: ColumnDef, value: unknown, lookupName?: (ref: LookupValue) => string | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  switch (column.type) {
    case "choice":
    case "state":
    case "status":
      return column.options?.find((o) => o.value === value)?.label;
    case "multichoice":
      return String(value).split(",").map((v) => column.options?.find((o) => o.value === Number(v))?.label ?? v).join("; ");
    case "boolean":
      return value ? "Yes" : "No";
    case "money":
      return `$${(value as number).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    case "int":
    case "bigint":
    case "decimal":
      return (value as number).toLocaleString("en-US");
    case "date": {
      const [y, m, d] = String(value).split("-").map(Number);
      return `${m}/${d}/${y}`;
    }
    case "datetime": {
      const dt = new Date(String(value));
      const h = dt.getUTCHours();
      const mm = String(dt.getUTCMinutes()).padStart(2, "0");
      return `${dt.getUTCMonth() + 1}/${dt.getUTCDate()}/${dt.getUTCFullYear()} ${h % 12 || 12}:${mm} ${h < 12 ? "AM" : "PM"}`;
    }
    case "lookup":
    case "owner":
      return isLookupValue(value) ? lookupName?.(value) : undefined;
    default:
      return undefined;
  }
}
