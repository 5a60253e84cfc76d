import { readFileSync } from "node:fs";
import { parseJsonText } from "../../../shared/config/jsonText.js";
import { activityTables, addInheritedNavigation } from "./activities.js";
import { platformTables } from "./platformTables.js";

/** Column types the emulator understands (a subset of Dataverse AttributeTypeCode). */
export const ColumnTypes = [
  "string", "memo", "int", "bigint", "decimal", "money", "boolean", "date", "datetime", "choice",
  "multichoice", "lookup", "owner", "state", "status", "uniqueidentifier",
] as const;
export type ColumnType = (typeof ColumnTypes)[number];

export interface OptionDef {
  value: number;
  label: string;
  /** For `state` options: the status used when only statecode is written. */
  defaultStatus?: number;
  /** For `status` options: the state this status belongs to. */
  state?: number;
}

export interface ColumnDef {
  name: string;
  type: ColumnType;
  maxLength?: number;
  /** Digits after the point for decimal (0-10) and money (0-4) columns; Dataverse's default is 2. */
  precision?: number;
  required?: boolean;
  options?: OptionDef[];
  /** Lookup/owner targets (table logical names). */
  targets?: string[];
  /** Navigation property used in `@odata.bind` when every target shares one (e.g. `ownerid`). */
  navigationProperty?: string;
  /** Per-target navigation properties for polymorphic lookups (`parentcustomerid_account`). */
  navigationProperties?: Record<string, string>;
  /** A read-only column the server computes by joining other string columns (e.g. `fullname`). */
  computed?: { join: string[]; separator?: string };
}

export interface AlternateKeyDef {
  name: string;
  columns: string[];
}

export interface TableDef {
  logicalName: string;
  entitySetName: string;
  primaryId: string;
  primaryName: string;
  changeTracking: boolean;
  /** Whether CreateMultiple/UpdateMultiple/UpsertMultiple are available (default true; see activities.ts). */
  bulkMessages: boolean;
  columns: ColumnDef[];
  alternateKeys: AlternateKeyDef[];
  rows: Record<string, unknown>[];
  /** Derived lookups. */
  columnMap: Map<string, ColumnDef>;
  /** Navigation property -> lookup column and the table it points to (undefined = any target). */
  navMap: Map<string, { column: ColumnDef; target?: string }>;
}

export interface Schema {
  tables: Map<string, TableDef>;
  bySet: Map<string, TableDef>;
}

/** Columns the platform maintains on every table; writes to them are ignored like Dataverse does. */
export const SystemColumns: readonly ColumnDef[] = [
  { name: "createdon", type: "datetime" },
  { name: "modifiedon", type: "datetime" },
  { name: "createdby", type: "lookup", targets: ["systemuser"], navigationProperty: "createdby" },
  { name: "modifiedby", type: "lookup", targets: ["systemuser"], navigationProperty: "modifiedby" },
  { name: "versionnumber", type: "bigint" },
];
export const ReadOnlyColumns = new Set(SystemColumns.map((c) => c.name));

const OwnerColumn: ColumnDef = { name: "ownerid", type: "owner", targets: ["systemuser", "team"], navigationProperty: "ownerid" };

/**
 * Status and status reason as Dataverse creates them for every user- or organization-owned table
 * (Active 0 / Inactive 1, status reasons 1 and 2). The product reads `statecode` on every row, so a
 * table defined without them would fail every read.
 */
export const DefaultStateColumns: readonly ColumnDef[] = [
  { name: "statecode", type: "state", options: [{ value: 0, label: "Active", defaultStatus: 1 }, { value: 1, label: "Inactive", defaultStatus: 2 }] },
  { name: "statuscode", type: "status", options: [{ value: 1, label: "Active", state: 0 }, { value: 2, label: "Inactive", state: 1 }] },
];

interface RawTable extends Partial<Omit<TableDef, "columnMap" | "navMap">> {
  /** "user" (default) adds `ownerid`; "organization"/"none" do not. */
  ownership?: "user" | "organization" | "none";
}

/** Loads a schema from a parsed JSON object or a path to a JSON file, adding system columns. */
export function loadSchema(source: object | string): Schema {
  const raw = (typeof source === "string" ? readSchemaFile(source) : source) as { tables?: RawTable[] };
  if (!raw || !Array.isArray(raw.tables)) throw new Error("Emulator schema: expected { tables: [...] }");
  const tables = new Map<string, TableDef>();
  const bySet = new Map<string, TableDef>();
  // Platform tables first: other tables' rows are created after the users they are attributed to.
  // Activity tables come with contacts (their regarding target), as in every Sales environment.
  const withActivities = raw.tables.some((t) => t?.logicalName === "contact") ? activityTables() : [];
  const platform = platformTables().filter((p) => !raw.tables!.some((t) => t?.logicalName === p.logicalName));
  const activities = withActivities.filter((p) => !raw.tables!.some((t) => t?.logicalName === p.logicalName));
  for (const t of [...platform, ...raw.tables, ...activities]) {
    const table = buildTable(t);
    addInheritedNavigation(table);
    if (tables.has(table.logicalName)) throw new Error(`Emulator schema: table ${table.logicalName} is defined twice`);
    tables.set(table.logicalName, table);
    bySet.set(table.entitySetName, table);
  }
  for (const table of tables.values()) {
    for (const c of table.columns) {
      for (const target of c.targets ?? []) {
        if (!tables.has(target)) throw new Error(`Emulator schema: ${table.logicalName}.${c.name} targets unknown table ${target}`);
      }
    }
  }
  return { tables, bySet };
}

function readSchemaFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`Emulator schema ${path}: cannot read it (${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message})`);
  }
  const parsed = parseJsonText(text);
  if ("problem" in parsed) throw new Error(`Emulator schema ${path}: ${parsed.problem}`);
  return parsed.value;
}

function buildTable(t: RawTable): TableDef {
  for (const f of ["logicalName", "entitySetName", "primaryId", "primaryName"] as const) {
    if (typeof t[f] !== "string" || !t[f]) throw new Error(`Emulator schema: a table is missing "${f}"`);
  }
  const name = t.logicalName!;
  const columns: ColumnDef[] = [{ name: t.primaryId!, type: "uniqueidentifier" }];
  for (const c of t.columns ?? []) {
    if (!ColumnTypes.includes(c.type)) throw new Error(`Emulator schema: ${name}.${c.name} has unknown type ${String(c.type)}`);
    if (c.name !== t.primaryId) columns.push(c);
  }
  const has = (n: string) => columns.some((c) => c.name === n);
  for (const sys of SystemColumns) if (!has(sys.name)) columns.push(sys);
  const ownership = t.ownership ?? "user";
  if (ownership === "user" && !has("ownerid")) columns.push(OwnerColumn);
  // A table that defines either column keeps its own definition.
  if (ownership !== "none" && !has("statecode") && !has("statuscode")) columns.push(...DefaultStateColumns);
  const columnMap = new Map(columns.map((c) => [c.name, c]));
  for (const k of t.alternateKeys ?? []) {
    for (const col of k.columns) if (!columnMap.has(col)) throw new Error(`Emulator schema: key ${k.name} uses unknown column ${col}`);
  }
  const navMap = new Map<string, { column: ColumnDef; target?: string }>();
  for (const c of columns) {
    if (c.type !== "lookup" && c.type !== "owner") continue;
    if (c.navigationProperties) for (const [target, nav] of Object.entries(c.navigationProperties)) navMap.set(nav, { column: c, target });
    navMap.set(c.navigationProperty ?? c.name, { column: c });
  }
  return {
    logicalName: name,
    entitySetName: t.entitySetName!,
    primaryId: t.primaryId!,
    primaryName: t.primaryName!,
    changeTracking: t.changeTracking === true,
    bulkMessages: t.bulkMessages !== false,
    columns,
    alternateKeys: t.alternateKeys ?? [],
    rows: t.rows ?? [],
    columnMap,
    navMap,
  };
}

export function isLookupType(type: ColumnType): boolean {
  return type === "lookup" || type === "owner";
}
