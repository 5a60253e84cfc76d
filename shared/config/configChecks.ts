import { compileExpression } from "filtrex";
import {
  checkDirection, checkField, mapperNames, quote, STATE_COLUMN, unknownMapper, writesTo, type ConfigRegistry,
} from "./fieldChecks.js";
import { fieldDirection, primaryIdOf, type FieldMapping, type Mapping, type SyncConfig } from "./mapping.js";
import { findLookupCycle } from "./mappingOrder.js";
import { expiryProblems } from "./expiryChecks.js";
import { wellFormedParts, type MappingParts } from "./mappingParts.js";

export type { ConfigRegistry } from "./fieldChecks.js";

export const BUILT_IN_TRANSFORMS = ["trim", "lowercase", "uppercase", "nullIfEmpty", "emptyIfNull"] as const;

export const defaultRegistry: ConfigRegistry = { transforms: new Set(BUILT_IN_TRANSFORMS) };

export interface CheckResult {
  problems: string[];
  warnings: string[];
}

function checkFilter(expression: string | undefined, at: string, problems: string[]): void {
  if (expression === undefined) return;
  try {
    compileExpression(expression);
  } catch (e) {
    // filtrex repeats the expression with a caret line under it: noise once flattened to one line.
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")
      .filter((line) => line.trim() && line !== expression && !/^-*\^$/.test(line.trim())).join(" ");
    problems.push(`${at}: expected a filter expression (filtrex syntax, e.g. score >= 50); got ${quote(expression)}: ${reason}`);
  }
}

function checkKey(parts: MappingParts, at: string, problems: string[]): void {
  const key = parts.mapping.dataverse.key;
  key.forEach((column, i) => {
    const first = key.indexOf(column);
    if (first !== i) {
      problems.push(`${at}.dataverse.key[${i}]: ${quote(column)} is already key[${first}]; name each key column once`);
    } else if (!parts.columns.has(column)) {
      problems.push(`${at}.dataverse.key[${i}]: expected a column mapped in ${at}.fields (the key's app value comes from a field); got ${quote(column)}`);
    }
  });
}

/** What a field writes on each side; a status field writes statecode with its statuscode. */
function targetsOf(field: FieldMapping, side: "app" | "dataverse"): string[] {
  if (side === "app") return [field.app];
  return field.type === "status" && field.dataverse !== STATE_COLUMN ? [field.dataverse, STATE_COLUMN] : [field.dataverse];
}

function checkMapping(parts: MappingParts, at: string, names: Set<string>, registry: ConfigRegistry, result: CheckResult): void {
  const { problems, warnings } = result;
  const { mapping, fields, broken } = parts;
  if (!broken.has("dataverse")) checkKey(parts, at, problems);
  const primaryId = broken.has("dataverse") ? undefined : primaryIdOf(mapping);
  const writers = { app: new Map<string, number>(), dataverse: new Map<string, number>() };
  for (const { field, index } of fields) {
    const fieldAt = `${at}.fields[${index}]`;
    checkField(field, fieldAt, names, registry, problems);
    problems.push(...expiryProblems(field, fields.map((f) => f.field), fieldAt));
    const direction = fieldDirection(mapping, field);
    if (!broken.has("direction")) checkDirection(mapping, field, direction, primaryId, fieldAt, problems);
    for (const side of ["app", "dataverse"] as const) {
      if (!writesTo(direction, side)) continue;
      for (const target of targetsOf(field, side)) {
        const first = writers[side].get(target);
        if (first !== undefined) {
          problems.push(`${fieldAt}.${side}: ${quote(target)} is already written by ${at}.fields[${first}]; ${side === "app" ? "an app field" : "a column"} can be written by one field only`);
        } else writers[side].set(target, index);
      }
    }
  }
  if (!broken.has("app")) checkFilter(mapping.app.filter, `${at}.app.filter`, problems);
  if (!broken.has("dataverse")) checkFilter(mapping.dataverse.filter, `${at}.dataverse.filter`, problems);
  if (mapping.mapper !== undefined && !mapperNames(registry, "record").has(mapping.mapper)) {
    problems.push(`${at}.mapper: ${unknownMapper(mapping.mapper, mapperNames(registry, "record"), "record")}`);
  }
  if (!parts.partial && mapping.deletes === "deactivate" && writesTo(mapping.direction, "app") && !mapping.app.inactiveField) {
    warnings.push(`${at}.app.inactiveField: not set, so with deletes "deactivate" a record deactivated in Dataverse is left unchanged in the app`);
  }
  if (!parts.partial && mapping.deletes === "deactivate") warnOtherStates(parts, at, warnings);
}

/** Under `deactivate`, a new row in any state but 0 stands for a deleted record (decide.ts): say so for states past Inactive. */
function warnOtherStates(parts: MappingParts, at: string, warnings: string[]): void {
  for (const { field, index } of parts.fields) {
    const states = [...new Set(Object.values(field.statuses ?? {}).map((p) => p.state))].filter((s) => s > 1);
    if (field.type !== "status" || !states.length) continue;
    warnings.push(`${at}.fields[${index}].statuses: with deletes "deactivate", a row that begins in Dataverse in a state other than 0 is taken for a ` +
      `deactivated record and not created in the app, also in state ${states.join(", ")}`);
  }
}

function checkEntries(entries: readonly MappingParts[], allNames: readonly unknown[], registry: ConfigRegistry): CheckResult {
  const result: CheckResult = { problems: [], warnings: [] };
  const names = new Set(allNames.filter((n): n is string => typeof n === "string"));
  allNames.forEach((name, index) => {
    const first = allNames.indexOf(name);
    if (typeof name === "string" && first !== index) {
      result.problems.push(`mappings[${index}].name: ${quote(name)} is already the name of mappings[${first}]; names must be unique`);
    }
  });
  for (const parts of entries) checkMapping(parts, `mappings[${parts.index}]`, names, registry, result);
  const cycle = findLookupCycle(entries.map((e) => e.mapping));
  if (cycle) result.problems.push(`mappings: lookups form a cycle: ${cycle.join(" -> ")} (each looks up the next)`);
  return result;
}

const whole = (mapping: Mapping, index: number): MappingParts => ({
  mapping, index, fields: mapping.fields.map((field, i) => ({ field, index: i })),
  columns: new Set(mapping.fields.map((f) => f.dataverse)), broken: new Set(), partial: false,
});

/** The checks zod cannot express: references between keys, names known to code, expressions. */
export function checkSyncConfig(config: SyncConfig, registry: ConfigRegistry = defaultRegistry): CheckResult {
  return checkEntries(config.mappings.map(whole), config.mappings.map((m) => m.name), registry);
}

/**
 * The same checks over what is well-formed in a file with shape problems: every mapping, and in a
 * mapping with a malformed part, the parts and fields that are well-formed on their own. The user
 * gets the shape problems and the semantic ones in one pass.
 */
export function checkWellFormedMappings(rawMappings: readonly unknown[], registry: ConfigRegistry = defaultRegistry): CheckResult {
  const entries = rawMappings.map(wellFormedParts).filter((e): e is MappingParts => e !== undefined);
  const names = rawMappings.map((raw) => (raw as { name?: unknown } | null)?.name);
  return checkEntries(entries, names, registry);
}
