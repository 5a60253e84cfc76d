import { ErrorCodes, SyncError } from "../errors.js";

/** The tenant the settings describe (DYNAMICS_*, APP_*): today's single-tenant deployment, its tables and queues. */
export const DEFAULT_TENANT = "default";

/**
 * A registered tenant's id: 3 to 24 characters, lower-case letters and digits, starting with a
 * letter. It becomes part of table names (`T<id>SyncLinks`), which allow only letters and digits
 * and compare without case; `default` is reserved for the settings' own tenant.
 */
export const TENANT_ID_PATTERN = /^[a-z][a-z0-9]{2,23}$/;

/** Why `id` is not a usable tenant id, or undefined when it is (`default` included). */
export function tenantIdProblem(id: string): string | undefined {
  if (id === DEFAULT_TENANT) return undefined;
  if (!TENANT_ID_PATTERN.test(id)) {
    return `tenant id ${JSON.stringify(id.slice(0, 40))} must be 3 to 24 lower-case letters and digits, starting with a letter`;
  }
  return undefined;
}

export function assertTenantId(id: string): void {
  const problem = tenantIdProblem(id);
  if (problem) throw new SyncError("validation", ErrorCodes.BadRequest, problem);
}

/**
 * The table-name prefix of a tenant's state: "" for `default` (today's tables), `T<id>` for the
 * others. Every state table name is this prefix + a name from shared/names.ts `Tables`, all of
 * which start with "Sync" and contain it nowhere else, so two tenants' names never coincide (the
 * id is followed by "Sync" and holds only [a-z0-9]; "T" + id never equals "" + "Sync…").
 */
export function tenantTablePrefix(id: string): string {
  assertTenantId(id);
  return id === DEFAULT_TENANT ? "" : `T${id}`;
}

/** The tenant of a queue message: its `tenant` field; absent (every message written before tenants) means `default`. */
export function tenantOfMessage(body: unknown): string {
  const t = body && typeof body === "object" ? (body as { tenant?: unknown }).tenant : undefined;
  return typeof t === "string" && t ? t : DEFAULT_TENANT;
}
