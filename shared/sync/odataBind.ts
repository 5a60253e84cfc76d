/**
 * Pure helpers for how Dataverse writes and reads lookups (dataverse-web-api.md §7). Resolving an
 * app reference to a Dataverse row is async (link map, alternate key) and belongs to the planner.
 */
import { ErrorCodes, SyncError } from "../errors.js";
import type { FieldMapping } from "../config/mapping.js";
import type { KeyValues } from "../ports.js";

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isGuid(value: unknown): value is string {
  return typeof value === "string" && GUID.test(value);
}

/** `<navigation property>@odata.bind`; navigation property names are case-sensitive. */
export function lookupBindProperty(field: FieldMapping): string {
  return `${field.lookup?.navigationProperty ?? field.dataverse}@odata.bind`;
}

/** The read-only `_<column>_value` a lookup column comes back as. */
export function lookupReadProperty(field: FieldMapping): string {
  return `_${field.dataverse}_value`;
}

function keyLiteral(value: string | number): string {
  // A decimal key a double cannot hold is an ExactNumber (a Number whose String is its exact digits).
  if ((value as unknown) instanceof Number) return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new SyncError("validation", ErrorCodes.Unmappable, `alternate key value ${value} is not a finite number`);
    return String(value);
  }
  // OData string literal: a single quote inside is written as two.
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A record URL for `@odata.bind`: a GUID gives `/set(<guid>)`, alternate-key values give
 * `/set(key='v')` (several keys comma-separated, in the given order).
 */
export function bindUrl(entitySet: string, idOrKey: string | KeyValues): string {
  if (typeof idOrKey === "string") {
    if (!isGuid(idOrKey)) {
      throw new SyncError("validation", ErrorCodes.Unmappable, `"${idOrKey}" is not a GUID; bind by alternate key instead`);
    }
    return `/${entitySet}(${idOrKey.toLowerCase()})`;
  }
  const parts = Object.entries(idOrKey).map(([name, value]) => `${name}=${keyLiteral(value)}`);
  if (parts.length === 0) throw new SyncError("validation", ErrorCodes.Unmappable, `no alternate key values to bind ${entitySet} by`);
  return `/${entitySet}(${parts.join(",")})`;
}

/** Owner bind URL: `/systemusers(<id>)` or `/teams(<id>)`. */
export function ownerBindUrl(ownerType: "systemuser" | "team", id: string): string {
  return bindUrl(ownerType === "team" ? "teams" : "systemusers", id);
}
