import { ErrorCodes, SyncError } from "../errors.js";
import type { KeyValues } from "../ports.js";

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const guid = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

/** Entity set and column names go into URLs unescaped, so only plain identifiers are allowed. */
export function checkName(name: string, what = "name"): string {
  if (!identifier.test(name)) throw new SyncError("validation", ErrorCodes.BadRequest, `Invalid Dataverse ${what}: ${JSON.stringify(name)}`);
  return name;
}

export function checkGuid(id: string): string {
  const m = guid.exec(id);
  if (!m) throw new SyncError("validation", ErrorCodes.BadRequest, `Not a Dataverse id (GUID): ${JSON.stringify(id)}`);
  return m[1].toLowerCase();
}

/** `contacts(<guid>)` */
export function idPath(entitySet: string, id: string): string {
  return `${checkName(entitySet, "entity set")}(${checkGuid(id)})`;
}

/**
 * `contacts(hlf_mentorid='m-1')` or a composite `set(a='x',b=2)`. Quotes are doubled (OData string
 * literal) and the value is percent-encoded so `/`, `&`, `#`, `?` and `%` cannot change the URL.
 */
export function keyPath(entitySet: string, key: KeyValues): string {
  const entries = Object.entries(key);
  if (entries.length === 0) throw new SyncError("validation", ErrorCodes.BadRequest, `Empty alternate key for ${entitySet}`);
  const parts = entries.map(([name, value]) => `${checkName(name, "key column")}=${keyLiteral(value)}`);
  return `${checkName(entitySet, "entity set")}(${parts.join(",")})`;
}

function keyLiteral(value: string | number): string {
  // A decimal key a double cannot hold is an ExactNumber (a Number whose String is its exact digits).
  if ((value as unknown) instanceof Number) return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new SyncError("validation", ErrorCodes.BadRequest, `Alternate-key value is not a finite number: ${value}`);
    return String(value);
  }
  return `'${encodeURIComponent(value.replace(/'/g, "''"))}'`;
}

/** The row id at the end of an `OData-EntityId` such as `…/contacts(00000000-…)`, if it is a GUID. */
export function idFromEntityUrl(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  const m = /\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$/.exec(url);
  return m ? m[1].toLowerCase() : undefined;
}

/** `?$select=a,b&$filter=…` from the non-empty options, values encoded. */
export function queryString(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v)).replace(/%2C/gi, ",")}`);
  return parts.length ? `?${parts.join("&")}` : "";
}
