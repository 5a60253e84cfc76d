import type { Direction, FieldMapping, Mapping } from "./mapping.js";

/** Names the code registers (shared/sync/registry.ts): the mapping file may only refer to these. */
export interface ConfigRegistry {
  transforms: ReadonlySet<string>;
  /** Mapper names valid both for fields and for mappings (when the kinds are not told apart). */
  mappers?: ReadonlySet<string>;
  /** Field mappers; with recordMappers this is the shape of `Registry.names()` in shared/sync/registry.ts. */
  fieldMappers?: ReadonlySet<string>;
  recordMappers?: ReadonlySet<string>;
}

export function mapperNames(registry: ConfigRegistry, kind: "field" | "record"): ReadonlySet<string> {
  const specific = kind === "field" ? registry.fieldMappers : registry.recordMappers;
  return new Set([...(specific ?? []), ...(registry.mappers ?? [])]);
}

export function unknownMapper(mapper: string, names: ReadonlySet<string>, kind: "field" | "record"): string {
  const known = [...names];
  return `expected a custom ${kind} mapper registered in code (${known.length ? known.join(", ") : "none are registered"}); got ${quote(mapper)}`;
}

export const quote = (s: string): string => JSON.stringify(s);

/** The column a `status` field names; `statecode` is written with it. */
export const STATUS_COLUMN = "statuscode";
export const STATE_COLUMN = "statecode";

/**
 * Columns Dataverse fills in itself: writes to them are ignored, so only `to-app` can sync them.
 * The primary id is one too (the sync sets it only when it creates a row).
 */
export const SERVER_FILLED_COLUMNS = ["createdon", "modifiedon", "createdby", "modifiedby", "createdonbehalfby", "modifiedonbehalfby", "versionnumber"] as const;

/** Writing to a side happens for `both` and for the one-way direction towards it. */
export const writesTo = (d: Direction, side: "app" | "dataverse"): boolean => d === "both" || d === (side === "app" ? "to-app" : "to-dataverse");

/** Unique values of a map of app value -> number, e.g. option values or status reasons. */
function checkUnique(entries: [string, number][], at: string, what: string, problems: string[]): void {
  const seen = new Map<number, string>();
  for (const [appValue, n] of entries) {
    const other = seen.get(n);
    if (other !== undefined) problems.push(`${at}.${appValue}: ${what} ${n} is already used by ${quote(other)}; each ${what} maps back to one app value`);
    seen.set(n, appValue);
  }
}

function checkChoices(field: FieldMapping, at: string, problems: string[]): void {
  const { type } = field;
  if (type === "choice" || type === "multichoice") {
    if (!field.choices || Object.keys(field.choices).length === 0) {
      problems.push(`${at}.choices: required for type ${type}: an object of app value -> Dataverse option value, e.g. {"active": 100000000}`);
    } else checkUnique(Object.entries(field.choices), `${at}.choices`, "option value", problems);
  } else if (field.choices) {
    problems.push(`${at}.choices: only for type choice or multichoice; got type ${type}`);
  }
  if (type === "status") {
    if (field.dataverse !== STATUS_COLUMN) {
      problems.push(`${at}.dataverse: expected ${quote(STATUS_COLUMN)} for type status (the status reason column; ${STATE_COLUMN} is written with it); got ${quote(field.dataverse)}`);
    }
    if (!field.statuses || Object.keys(field.statuses).length === 0) {
      problems.push(`${at}.statuses: required for type status: an object of app value -> {"state": statecode, "status": statuscode}, e.g. {"submitted": {"state": 0, "status": 100001}}`);
    } else checkUnique(Object.entries(field.statuses).map(([k, pair]) => [k, pair.status]), `${at}.statuses`, "status", problems);
  } else if (field.statuses) {
    problems.push(`${at}.statuses: only for type status; got type ${type}`);
  }
}

function checkLookup(field: FieldMapping, at: string, names: Set<string>, problems: string[]): void {
  const lookup = field.lookup;
  if (field.type !== "lookup") {
    if (lookup) problems.push(`${at}.lookup: only for type lookup; got type ${field.type}`);
    return;
  }
  if (!lookup || (!lookup.mapping && !lookup.entitySet)) {
    problems.push(`${at}.lookup: required for type lookup: {"mapping": "<another mapping>"} or {"entitySet": "...", "key": "<alternate key column>"}`);
  } else if (lookup.mapping && (lookup.entitySet || lookup.key)) {
    problems.push(`${at}.lookup: expected either mapping or entitySet + key, not both`);
  } else if (lookup.mapping && !names.has(lookup.mapping)) {
    problems.push(`${at}.lookup.mapping: expected the name of a mapping in this file (${[...names].join(", ")}); got ${quote(lookup.mapping)}`);
  } else if (lookup.entitySet && !lookup.key) {
    problems.push(`${at}.lookup.key: required with lookup.entitySet: the alternate-key column whose value is the app value`);
  }
}

/** The type-specific keys of one field, and the names it refers to. */
export function checkField(field: FieldMapping, at: string, names: Set<string>, registry: ConfigRegistry, problems: string[]): void {
  const { type } = field;
  checkChoices(field, at, problems);
  checkLookup(field, at, names, problems);
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

/**
 * A field direction that can never sync: one that reverses its mapping's one-way direction, a write
 * to the app record id (the app assigns it), or a write to a column Dataverse fills in itself.
 */
export function checkDirection(mapping: Pick<Mapping, "direction">, field: FieldMapping, direction: Direction, primaryId: string | undefined, at: string, problems: string[]): void {
  const where = `${at}.direction`;
  // The app id goes to the key column in every mapping: it is written back after an app create.
  const keyWriteBack = field.app === "id" && direction === "to-dataverse";
  const filled = field.dataverse === primaryId || (SERVER_FILLED_COLUMNS as readonly string[]).includes(field.dataverse);
  // Values Dataverse fills in while we write reach the app after our writes (shared/sync/fillIns.ts):
  // the Kentico case keeps the contact id and its times on the app record of a one-way mapping.
  const fillIn = filled && mapping.direction === "to-dataverse" && direction === "to-app";
  if (mapping.direction !== "both" && direction !== "both" && direction !== mapping.direction && !keyWriteBack && !fillIn) {
    problems.push(`${where}: ${quote(direction)} can never sync in a mapping whose direction is ${quote(mapping.direction)} (a field may narrow its mapping's direction, not reverse it); ` +
      `give the mapping "direction": "both" and its other fields "direction": ${quote(mapping.direction)}` +
      (mapping.direction === "to-dataverse" ? ` (only columns Dataverse fills in, such as the primary id, createdon or modifiedon, may be "to-app" here)` : ""));
    return;
  }
  if (field.app === "id" && direction === "to-app") {
    problems.push(`${where}: "to-app" can never sync the app record id (the app assigns it, and it is not inside data); use "to-dataverse"`);
  }
  if (filled && writesTo(direction, "dataverse")) {
    problems.push(`${where}: Dataverse fills in ${quote(field.dataverse)} itself, so ${quote(direction)} can never sync it to Dataverse; use "direction": "to-app"`);
  }
}
