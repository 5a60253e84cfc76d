/**
 * An emulator schema (the format in README.md, "Schema files") derived from a mapping file, so the
 * local stack can run any mapping without a hand-written schema: one table per mapped table, its
 * columns and types from the fields, options from `choices`, lookup targets, the alternate key from
 * `key`; the standard columns (primary id, primary name, createdon, modifiedon, createdby,
 * modifiedby, versionnumber, ownerid, statecode/statuscode) and the platform tables come from
 * schema.ts when the schema is loaded.
 */
import { primaryIdOf, type FieldMapping, type SyncConfig } from "../../../shared/config/mapping.js";
import type { RawColumn, RawTable } from "./platformTables.js";
import type { Schema } from "./schema.js";


/** Digits kept by generated decimal columns for `number` fields (Dataverse's float keeps up to 5). */
const NUMBER_PRECISION = 10;
/** Long enough for any value a test or a seed file holds; Dataverse's own default is 100. */
const STRING_LENGTH = 4000;

export function schemaFromMapping(config: SyncConfig): { tables: RawTable[] } {
  // The platform tables (business unit, users, teams) are added by loadSchema (platformTables.ts).
  const tables = new Map<string, RawTable>();
  for (const m of config.mappings) {
    const table = tables.get(m.dataverse.table) ?? emptyTable(m.dataverse.table, m.dataverse.entitySet, primaryIdOf(m));
    tables.set(table.logicalName, table);
    for (const field of m.fields) for (const column of columnsFor(field, config, tables)) addColumn(table, column);
    for (const key of m.dataverse.key) addColumn(table, { name: key, type: "string", maxLength: STRING_LENGTH });
    const keyName = `${m.dataverse.table}_${m.dataverse.key.join("_")}_key`;
    if (!table.alternateKeys.some((k) => sameColumns(k.columns, m.dataverse.key))) table.alternateKeys.push({ name: keyName, columns: [...m.dataverse.key] });
  }
  for (const t of tables.values()) addColumn(t, { name: t.primaryName, type: "string", maxLength: STRING_LENGTH });
  return { tables: [...tables.values()] };
}

/** What a schema lacks for a mapping file: every missing table, column and alternate key, by name. */
export function schemaGaps(schema: Schema, config: SyncConfig): string[] {
  const gaps: string[] = [];
  for (const m of config.mappings) {
    const table = schema.bySet.get(m.dataverse.entitySet);
    if (!table) {
      gaps.push(`mapping ${m.name}: the schema has no table with entity set ${m.dataverse.entitySet}`);
      continue;
    }
    if (table.logicalName !== m.dataverse.table) gaps.push(`mapping ${m.name}: entity set ${m.dataverse.entitySet} belongs to table ${table.logicalName}, not ${m.dataverse.table}`);
    if (table.primaryId !== primaryIdOf(m)) gaps.push(`mapping ${m.name}: table ${table.logicalName}'s primary id is ${table.primaryId}, not ${primaryIdOf(m)}`);
    if (!table.changeTracking) gaps.push(`mapping ${m.name}: table ${table.logicalName} needs "changeTracking": true`);
    for (const f of m.fields) {
      if (!table.columnMap.has(f.dataverse)) gaps.push(`mapping ${m.name}: table ${table.logicalName} has no column ${f.dataverse} (field ${f.app})`);
    }
    if (!table.alternateKeys.some((k) => sameColumns(k.columns, m.dataverse.key))) {
      gaps.push(`mapping ${m.name}: table ${table.logicalName} has no alternate key on ${m.dataverse.key.join(", ")}`);
    }
  }
  return gaps;
}

function columnsFor(field: FieldMapping, config: SyncConfig, tables: Map<string, RawTable>): RawColumn[] {
  const name = field.dataverse;
  const options = () => Object.entries(field.choices ?? {}).map(([label, value]) => ({ value, label }));
  // Field types the emulator has no column for yet (a type added to the mapping file later) fall
  // through to a string column; a schema file (`--schema`) can always say exactly what is meant.
  switch (field.type as string) {
    case "string": return [{ name, type: "string", maxLength: STRING_LENGTH }];
    case "number": return [{ name, type: "decimal", precision: NUMBER_PRECISION }];
    case "decimal": return [{ name, type: "decimal", precision: field.precision ?? 4 }];
    case "money": return [{ name, type: "money", precision: Math.min(field.precision ?? 2, 4) }];
    case "boolean": return [{ name, type: "boolean" }];
    case "date": return [{ name, type: "date" }];
    case "datetime": return [{ name, type: "datetime" }];
    case "choice": return [{ name, type: "choice", options: options() }];
    case "multichoice": return [{ name, type: "multichoice", options: options() }];
    case "owner": return name === "ownerid" ? [] : [{ name, type: "owner", targets: ["systemuser", "team"], navigationProperty: name }];
    case "lookup": return [lookupColumn(field, config, tables)];
    case "status": return stateStatusColumns(field);
    default: return [{ name, type: "string", maxLength: STRING_LENGTH }];
  }
}

/**
 * `statecode`/`statuscode` holding every pair of a `status` field's `statuses` (each status reason
 * belongs to its state; a state's first reason is its default), plus Dataverse's own Active 0 /
 * Inactive 1 with reasons 1 and 2.
 */
function stateStatusColumns(field: FieldMapping): RawColumn[] {
  const statuses = (field as { statuses?: Record<string, { state: number; status: number }> }).statuses ?? {};
  const pairs = [{ state: 0, status: 1, label: "Active" }, { state: 1, status: 2, label: "Inactive" }];
  for (const [label, p] of Object.entries(statuses)) if (!pairs.some((q) => q.status === p.status)) pairs.push({ ...p, label });
  const states = [...new Set(pairs.map((p) => p.state))].sort((a, b) => a - b);
  const stateLabel = (s: number) => (s === 0 ? "Active" : s === 1 ? "Inactive" : `State ${s}`);
  return [
    { name: "statecode", type: "state", options: states.map((s) => ({ value: s, label: stateLabel(s), defaultStatus: pairs.find((p) => p.state === s)!.status })) },
    { name: "statuscode", type: "status", options: pairs.map((p) => ({ value: p.status, label: p.label, state: p.state })) },
  ];
}

/** A lookup to a mapped table, or to a table known by entity set and alternate key (added when missing). */
function lookupColumn(field: FieldMapping, config: SyncConfig, tables: Map<string, RawTable>): RawColumn {
  const nav = field.lookup?.navigationProperty ?? field.dataverse;
  const viaMapping = field.lookup?.mapping ? config.mappings.find((m) => m.name === field.lookup!.mapping) : undefined;
  let target: string;
  if (viaMapping) target = viaMapping.dataverse.table;
  else {
    const entitySet = field.lookup?.entitySet ?? "";
    const mapped = config.mappings.find((m) => m.dataverse.entitySet === entitySet);
    target = mapped?.dataverse.table ?? [...tables.values()].find((t) => t.entitySetName === entitySet)?.logicalName ?? singular(entitySet);
    if (!mapped && !tables.has(target)) tables.set(target, emptyTable(target, entitySet, `${target}id`));
    const key = field.lookup?.key;
    const table = tables.get(target);
    if (key && table) {
      addColumn(table, { name: key, type: "string", maxLength: STRING_LENGTH });
      if (!table.alternateKeys.some((k) => sameColumns(k.columns, [key]))) table.alternateKeys.push({ name: `${target}_${key}_key`, columns: [key] });
    }
  }
  return { name: field.dataverse, type: "lookup", targets: [target], navigationProperty: nav };
}

function emptyTable(logicalName: string, entitySetName: string, primaryId: string): RawTable {
  // Dataverse names a custom table's primary name column `<prefix>_name`, a system table's `name`.
  const prefix = logicalName.includes("_") ? `${logicalName.split("_")[0]}_` : "";
  return { logicalName, entitySetName, primaryId, primaryName: `${prefix}name`, changeTracking: true, columns: [], alternateKeys: [], rows: [] };
}

function addColumn(table: RawTable, column: RawColumn): void {
  if (column.name === table.primaryId || table.columns.some((c) => c.name === column.name)) return;
  table.columns.push(column);
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c) => b.includes(c));
}

/** `accounts` -> `account`, `opportunities` -> `opportunity`: a guess for tables only named by entity set. */
function singular(entitySet: string): string {
  if (entitySet.endsWith("ies")) return `${entitySet.slice(0, -3)}y`;
  if (entitySet.endsWith("sses") || entitySet.endsWith("xes")) return entitySet.slice(0, -2);
  return entitySet.endsWith("s") ? entitySet.slice(0, -1) : entitySet;
}
