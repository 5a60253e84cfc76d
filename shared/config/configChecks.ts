import { compileExpression } from "filtrex";
import { fieldDirection, Mapping as MappingSchema, type FieldMapping, type Mapping, type SyncConfig } from "./mapping.js";
import { findLookupCycle } from "./mappingOrder.js";

/** Names the code registers (shared/sync/registry.ts): the mapping file may only refer to these. */
export interface ConfigRegistry {
  transforms: ReadonlySet<string>;
  /** Mapper names valid both for fields and for mappings (when the kinds are not told apart). */
  mappers?: ReadonlySet<string>;
  /** Field mappers; with recordMappers this is the shape of `Registry.names()` in shared/sync/registry.ts. */
  fieldMappers?: ReadonlySet<string>;
  recordMappers?: ReadonlySet<string>;
}

function mapperNames(registry: ConfigRegistry, kind: "field" | "record"): ReadonlySet<string> {
  const specific = kind === "field" ? registry.fieldMappers : registry.recordMappers;
  return new Set([...(specific ?? []), ...(registry.mappers ?? [])]);
}

export const BUILT_IN_TRANSFORMS = ["trim", "lowercase", "uppercase", "nullIfEmpty", "emptyIfNull"] as const;

export const defaultRegistry: ConfigRegistry = { transforms: new Set(BUILT_IN_TRANSFORMS) };

export interface CheckResult {
  problems: string[];
  warnings: string[];
}

const quote = (s: string): string => JSON.stringify(s);

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

function checkField(field: FieldMapping, at: string, names: Set<string>, registry: ConfigRegistry, problems: string[]): void {
  const { type } = field;
  if (type === "choice" || type === "multichoice") {
    const values = Object.values(field.choices ?? {});
    if (!field.choices || values.length === 0) {
      problems.push(`${at}.choices: required for type ${type}: an object of app value -> Dataverse option value, e.g. {"active": 100000000}`);
    } else {
      const seen = new Map<number, string>();
      for (const [appValue, option] of Object.entries(field.choices)) {
        const other = seen.get(option);
        if (other !== undefined) problems.push(`${at}.choices.${appValue}: option value ${option} is already used by ${quote(other)}; each option value maps back to one app value`);
        seen.set(option, appValue);
      }
    }
  } else if (field.choices) {
    problems.push(`${at}.choices: only for type choice or multichoice; got type ${type}`);
  }
  if (type === "lookup") {
    const lookup = field.lookup;
    if (!lookup || (!lookup.mapping && !lookup.entitySet)) {
      problems.push(`${at}.lookup: required for type lookup: {"mapping": "<another mapping>"} or {"entitySet": "...", "key": "<alternate key column>"}`);
    } else if (lookup.mapping && (lookup.entitySet || lookup.key)) {
      problems.push(`${at}.lookup: expected either mapping or entitySet + key, not both`);
    } else if (lookup.mapping && !names.has(lookup.mapping)) {
      problems.push(`${at}.lookup.mapping: expected the name of a mapping in this file (${[...names].join(", ")}); got ${quote(lookup.mapping)}`);
    } else if (lookup.entitySet && !lookup.key) {
      problems.push(`${at}.lookup.key: required with lookup.entitySet: the alternate-key column whose value is the app value`);
    }
  } else if (field.lookup) {
    problems.push(`${at}.lookup: only for type lookup; got type ${type}`);
  }
  if (type === "owner" && !field.ownerType) {
    problems.push(`${at}.ownerType: required for type owner: systemuser or team`);
  } else if (type !== "owner" && field.ownerType) {
    problems.push(`${at}.ownerType: only for type owner; got type ${type}`);
  }
  if (field.precision !== undefined && type !== "decimal" && type !== "money") {
    problems.push(`${at}.precision: only for type decimal or money; got type ${type}`);
  }
  (field.transforms ?? []).forEach((name, i) => {
    if (!registry.transforms.has(name)) {
      problems.push(`${at}.transforms[${i}]: expected one of ${[...registry.transforms].join(", ")}; got ${quote(name)}`);
    }
  });
  if (field.mapper !== undefined && !mapperNames(registry, "field").has(field.mapper)) {
    problems.push(`${at}.mapper: ${unknownMapper(field.mapper, mapperNames(registry, "field"), "field")}`);
  }
}

function unknownMapper(mapper: string, names: ReadonlySet<string>, kind: "field" | "record"): string {
  const known = [...names];
  return `expected a custom ${kind} mapper registered in code (${known.length ? known.join(", ") : "none are registered"}); got ${quote(mapper)}`;
}

/** Writing to the app side (and so to an app field) happens for `both` and `to-app`. */
const writesTo = (d: string, side: "app" | "dataverse"): boolean => d === "both" || d === (side === "app" ? "to-app" : "to-dataverse");

function checkMapping(mapping: Mapping, at: string, names: Set<string>, registry: ConfigRegistry, result: CheckResult): void {
  const { problems, warnings } = result;
  const columns = new Set(mapping.fields.map((f) => f.dataverse));
  mapping.dataverse.key.forEach((column, i) => {
    if (!columns.has(column)) {
      problems.push(`${at}.dataverse.key[${i}]: expected a column mapped in ${at}.fields (the key's app value comes from a field); got ${quote(column)}`);
    }
  });
  const writers = { app: new Map<string, number>(), dataverse: new Map<string, number>() };
  mapping.fields.forEach((field, i) => {
    const fieldAt = `${at}.fields[${i}]`;
    checkField(field, fieldAt, names, registry, problems);
    const direction = fieldDirection(mapping, field);
    for (const side of ["app", "dataverse"] as const) {
      if (!writesTo(direction, side)) continue;
      const target = side === "app" ? field.app : field.dataverse;
      const first = writers[side].get(target);
      if (first !== undefined) {
        problems.push(`${fieldAt}.${side}: ${quote(target)} is already written by ${at}.fields[${first}]; ${side === "app" ? "an app field" : "a column"} can be written by one field only`);
      } else writers[side].set(target, i);
    }
  });
  checkFilter(mapping.app.filter, `${at}.app.filter`, problems);
  checkFilter(mapping.dataverse.filter, `${at}.dataverse.filter`, problems);
  if (mapping.mapper !== undefined && !mapperNames(registry, "record").has(mapping.mapper)) {
    problems.push(`${at}.mapper: ${unknownMapper(mapping.mapper, mapperNames(registry, "record"), "record")}`);
  }
  if (mapping.deletes === "deactivate" && writesTo(mapping.direction, "app") && !mapping.app.inactiveField) {
    warnings.push(`${at}.app.inactiveField: not set, so with deletes "deactivate" a record deactivated in Dataverse is left unchanged in the app`);
  }
}

interface Entry {
  mapping: Mapping;
  /** Index in the file's mappings array, for the problem paths. */
  index: number;
}

function checkEntries(entries: readonly Entry[], allNames: readonly unknown[], registry: ConfigRegistry): CheckResult {
  const result: CheckResult = { problems: [], warnings: [] };
  const names = new Set(allNames.filter((n): n is string => typeof n === "string"));
  allNames.forEach((name, index) => {
    const first = allNames.indexOf(name);
    if (typeof name === "string" && first !== index) {
      result.problems.push(`mappings[${index}].name: ${quote(name)} is already the name of mappings[${first}]; names must be unique`);
    }
  });
  for (const { mapping, index } of entries) checkMapping(mapping, `mappings[${index}]`, names, registry, result);
  const cycle = findLookupCycle(entries.map((e) => e.mapping));
  if (cycle) result.problems.push(`mappings: lookups form a cycle: ${cycle.join(" -> ")} (each looks up the next)`);
  return result;
}

/** The checks zod cannot express: references between keys, names known to code, expressions. */
export function checkSyncConfig(config: SyncConfig, registry: ConfigRegistry = defaultRegistry): CheckResult {
  return checkEntries(config.mappings.map((mapping, index) => ({ mapping, index })), config.mappings.map((m) => m.name), registry);
}

/**
 * The same checks over the mappings that are well-formed on their own, for a file with shape
 * problems elsewhere: the user still gets every problem in one pass.
 */
export function checkWellFormedMappings(rawMappings: readonly unknown[], registry: ConfigRegistry = defaultRegistry): CheckResult {
  const entries: Entry[] = [];
  rawMappings.forEach((raw, index) => {
    const parsed = MappingSchema.safeParse(raw);
    if (parsed.success) entries.push({ mapping: parsed.data, index });
  });
  const names = rawMappings.map((raw) => (raw as { name?: unknown } | null)?.name);
  return checkEntries(entries, names, registry);
}
