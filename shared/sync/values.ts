/**
 * Field values to and from the canonical form: the normalized JSON value both sides are compared
 * in, hashed in, and stored in as the last-synced base.
 *
 * Canonical form per type:
 * - string: the string ("" and null stay distinct; use `nullIfEmpty` since Dataverse stores "" as null)
 * - number: a finite JS number (no NaN/Infinity); numeric strings from either side are read as numbers
 * - decimal / money: a string with exactly `precision` digits after the point (default 4 for
 *   decimal, 2 for money), rounded half away from zero, so 12.5 and 12.50 are both "12.50";
 *   written to either side as a JSON number with exactly those digits: a JS number when a double
 *   holds the value, else an ExactNumber (shared/http/exactJson.ts) that JSON.stringify writes
 *   digit for digit. Read the same way: a number token a double cannot hold arrives as an
 *   ExactNumber and is rounded from its digits
 * - boolean: true / false (the app may also send "true" / "false")
 * - date: "YYYY-MM-DD" (Dataverse DateOnly); an ISO date-time is accepted only at 00:00:00Z
 * - datetime: UTC with whole seconds, "2026-11-25T03:10:44Z"; input needs an explicit offset
 * - choice: the app's value (a key of `choices`); Dataverse gets the option number
 * - multichoice: the sorted, de-duplicated array of app values; an empty selection is [] (Dataverse
 *   cannot tell an empty selection from null, so null from either side is [] too); Dataverse gets
 *   "100000000,100000001", or null for []
 * - status: the app's value (a key of `statuses`); Dataverse gets its statecode and statuscode in
 *   the same write, and is read back by its statuscode (a status reason belongs to one state). A
 *   Dataverse row always has a status, so null is unmappable towards Dataverse (give a `default`)
 * - lookup / owner: the app-side reference string; resolving it is the planner's job (odataBind.ts)
 *
 * On the way in, the field's transforms run first, then `default` replaces null or missing. The
 * default is written in the app's representation (e.g. "pending" for a choice) and applies to
 * inbound values from either side. A value that cannot be mapped throws SyncError validation
 * UNMAPPABLE_VALUE naming the field and the value: the caller fails the whole record and writes
 * nothing null or guessed.
 */
import { ErrorCodes, SyncError } from "../errors.js";
import { STATE_COLUMN } from "../config/fieldChecks.js";
import type { FieldMapping } from "../config/mapping.js";
import { defaultRegistry, type FieldMapper, type Registry } from "./registry.js";
import { applyTransforms, reverseTransforms } from "./transforms.js";
import { Rejected, statusPairOf, typeConverters } from "./fieldTypes.js";

export { canonicalEquals } from "./hash.js";
export { bindUrl, isGuid, lookupBindProperty, lookupReadProperty, ownerBindUrl } from "./odataBind.js";

type Side = "app" | "dataverse";

const isNullish = (value: unknown): value is null | undefined => value === null || value === undefined;
const isReference = (field: FieldMapping) => field.type === "lookup" || field.type === "owner";

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  let shown: string;
  try {
    shown = typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

function unmappable(field: FieldMapping, side: Side, value: unknown, reason: string, cause?: unknown): SyncError {
  const where = side === "app"
    ? `app field "${field.app}" (to Dataverse column "${field.dataverse}", ${field.type})`
    : `Dataverse column "${field.dataverse}" (app field "${field.app}", ${field.type})`;
  return new SyncError("validation", ErrorCodes.Unmappable, `Cannot map ${where}: value ${describe(value)} is unmappable: ${reason}`, {
    cause,
    details: { appField: field.app, dataverseColumn: field.dataverse, type: field.type, side },
  });
}

function invalidConfig(field: FieldMapping, message: string): SyncError {
  return new SyncError("validation", ErrorCodes.InvalidConfig, `Field "${field.app}" -> "${field.dataverse}": ${message}`, {
    details: { appField: field.app, dataverseColumn: field.dataverse },
  });
}

function mapperOf(field: FieldMapping, registry: Registry): FieldMapper | undefined {
  if (field.mapper === undefined) return undefined;
  const mapper = registry.fieldMappers.get(field.mapper);
  if (!mapper) throw invalidConfig(field, `field mapper "${field.mapper}" is not registered`);
  return mapper;
}

/** Runs a conversion step, turning any failure into UNMAPPABLE_VALUE for this field and value. */
function guarded<T>(field: FieldMapping, side: Side, value: unknown, step: () => T, source = `the custom mapper "${field.mapper}"`): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof SyncError) throw e;
    if (e instanceof Rejected) throw unmappable(field, side, value, e.message);
    throw unmappable(field, side, value, `${source} failed: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

function transformed(field: FieldMapping, side: Side, value: unknown, registry: Registry, reverse = false): unknown {
  const result = guarded(field, side, value, () => (reverse ? reverseTransforms : applyTransforms)(field.transforms, value, registry.transforms), "a transform");
  if (!result.ok) throw invalidConfig(field, `transform "${result.missing}" is not registered`);
  return result.value;
}

/** The empty canonical value of a field after null handling. */
function emptyCanonical(field: FieldMapping): unknown {
  return field.type === "multichoice" ? [] : null;
}

function canonicalFromAppValue(field: FieldMapping, value: unknown, registry: Registry): unknown {
  const mapper = mapperOf(field, registry);
  if (mapper?.toCanonicalFromApp) return guarded(field, "app", value, () => mapper.toCanonicalFromApp!(value, field));
  if (isNullish(value)) return emptyCanonical(field);
  return guarded(field, "app", value, () => typeConverters[field.type].fromApp(value, field));
}

/** An app value (from the record's `data`) to its canonical value. */
export function appToCanonical(field: FieldMapping, value: unknown, registry: Registry = defaultRegistry): unknown {
  let current = transformed(field, "app", value, registry);
  if (isNullish(current) && field.default !== undefined) current = field.default;
  return canonicalFromAppValue(field, current, registry);
}

/** A Dataverse column value (as the Web API returns it) to its canonical value. Not for lookup/owner. */
export function dataverseToCanonical(field: FieldMapping, value: unknown, registry: Registry = defaultRegistry): unknown {
  const current = transformed(field, "dataverse", value, registry);
  // The default is written the way the app writes the value, so it converts as an app value.
  if (isNullish(current) && field.default !== undefined) return canonicalFromAppValue(field, field.default, registry);
  const mapper = mapperOf(field, registry);
  if (mapper?.toCanonicalFromDataverse) return guarded(field, "dataverse", current, () => mapper.toCanonicalFromDataverse!(current, field));
  if (isNullish(current)) return emptyCanonical(field);
  if (isReference(field)) throw invalidConfig(field, `${field.type} values from Dataverse are resolved through the link map by the planner`);
  return guarded(field, "dataverse", current, () => typeConverters[field.type].fromDataverse(current, field));
}

/** A canonical value to what the app's `data` gets. */
export function canonicalToApp(field: FieldMapping, canonical: unknown, registry: Registry = defaultRegistry): unknown {
  const mapper = mapperOf(field, registry);
  let value: unknown;
  if (mapper?.toApp) value = guarded(field, "app", canonical, () => mapper.toApp!(canonical, field));
  else if (isNullish(canonical)) value = field.type === "multichoice" ? [] : null;
  else value = guarded(field, "app", canonical, () => typeConverters[field.type].toApp(canonical, field));
  return transformed(field, "app", value, registry, true);
}

/** A canonical value to the column value sent to Dataverse. Not for lookup/owner (see bindUrl). */
export function canonicalToDataverse(field: FieldMapping, canonical: unknown, registry: Registry = defaultRegistry): unknown {
  const mapper = mapperOf(field, registry);
  let value: unknown;
  if (mapper?.toDataverse) value = guarded(field, "dataverse", canonical, () => mapper.toDataverse!(canonical, field));
  else if (isNullish(canonical) && field.type === "status") {
    throw unmappable(field, "app", canonical, `a Dataverse row always has a status (statecode and statuscode); give the field a "default"`);
  } else if (isNullish(canonical)) value = null;
  else if (isReference(field)) throw invalidConfig(field, `${field.type} values are written with "@odata.bind" by the planner`);
  else value = guarded(field, "dataverse", canonical, () => typeConverters[field.type].toDataverse(canonical, field));
  return transformed(field, "dataverse", value, registry, true);
}

/**
 * The columns a canonical value writes to Dataverse: one, except for a status, whose statecode goes
 * in the same write as its statuscode (Dataverse refuses a status reason of another state).
 */
export function canonicalToDataverseColumns(field: FieldMapping, canonical: unknown, registry: Registry = defaultRegistry): Record<string, unknown> {
  const value = canonicalToDataverse(field, canonical, registry);
  if (field.type !== "status" || field.mapper !== undefined) return { [field.dataverse]: value };
  const pair = guarded(field, "app", canonical, () => statusPairOf(canonical, field));
  return { [STATE_COLUMN]: pair.state, [field.dataverse]: value };
}
