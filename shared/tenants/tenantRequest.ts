import { ErrorCodes, errorMessage, isSyncError } from "../errors.js";
import type { Services } from "../runtime/services.js";
import { jsonError, type ApiRequest, type ApiResponse } from "../api/apiTypes.js";
import { parseJsonBody, readWebhookBody, webhookBodyLimit, isPlainObject } from "../api/webhookBody.js";
import { DEFAULT_TENANT, tenantIdProblem, tenantOfMessage } from "./tenantIds.js";
import { tenantsOf } from "./tenants.js";

/** The tenant a route serves: `?tenant=<id>`, `default` when absent. */
export function requestedTenant(req: Pick<ApiRequest, "query">): string {
  return req.query.get("tenant") || DEFAULT_TENANT;
}

/**
 * The services of the tenant a request names (`?tenant=`), or the answer when there is none:
 * 400 for an id that breaks the pattern, 404 for one nobody registered. `default` is `base` itself.
 */
export async function servicesForRequest(req: Pick<ApiRequest, "query">, base: Services): Promise<Services | ApiResponse> {
  const id = requestedTenant(req);
  if (id === DEFAULT_TENANT) return base;
  const problem = tenantIdProblem(id);
  if (problem) return jsonError(400, "INVALID_TENANT", problem);
  try {
    return await tenantsOf(base).services(id);
  } catch (e) {
    if (isSyncError(e) && e.code === ErrorCodes.TenantNotFound) return jsonError(404, e.code, e.message);
    base.logger.error("tenant services unavailable", { tenant: id, error: errorMessage(e) });
    return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", `tenant "${id}" is not available; see the function logs`);
  }
}

export const isApiResponse = (v: Services | ApiResponse): v is ApiResponse => "status" in v && !("engine" in v);

/** Runs a route's handler for the tenant the request names. */
export async function forTenant(req: ApiRequest, base: Services, api: (req: ApiRequest, s: Services) => Promise<ApiResponse>): Promise<ApiResponse> {
  const s = await servicesForRequest(req, base);
  return isApiResponse(s) ? s : api(req, s);
}

/**
 * The services a queue message belongs to: its `tenant` (absent = `default`). Undefined when the
 * tenant was deleted meanwhile: its messages are dropped (its state is gone or kept for nobody).
 */
export async function servicesForMessage(body: unknown, base: Services): Promise<Services | undefined> {
  const id = tenantOfMessage(body);
  if (id === DEFAULT_TENANT) return base;
  try {
    return await tenantsOf(base).services(id);
  } catch (e) {
    if (isSyncError(e) && (e.code === ErrorCodes.TenantNotFound || e.code === ErrorCodes.BadRequest)) {
      base.logger.warn("queue message of an unknown tenant dropped", { tenant: id.slice(0, 40), error: errorMessage(e) });
      return undefined;
    }
    throw e;
  }
}

/**
 * POST /api/webhooks/dataverse for many tenants: the delivery goes to the registered tenant whose
 * organization sent it (RemoteExecutionContext `OrganizationId`), else to `default`, and is then
 * checked with THAT tenant's key. A tenant's key therefore opens no other tenant's route.
 */
export async function routeDataverseWebhook(req: ApiRequest, base: Services, api: (req: ApiRequest, s: Services) => Promise<ApiResponse>): Promise<ApiResponse> {
  const body = await readWebhookBody(req, webhookBodyLimit(base.config.options.webhookMaxBodyBytes));
  if (!body.ok) return body.response;
  const replay: ApiRequest = { method: req.method, url: req.url, headers: req.headers, query: req.query, params: req.params, text: async () => body.text };
  const json = parseJsonBody(body.text);
  const org = json.ok && isPlainObject(json.value) && typeof json.value.OrganizationId === "string" ? json.value.OrganizationId : undefined;
  let target = base;
  try {
    // Services not built by createServices (a fixture) have no tenant directory: everything is `default`.
    const tenant = org && base.options ? await tenantsOf(base).byOrganization(org) : undefined;
    if (tenant) target = await tenantsOf(base).services(tenant.id);
  } catch (e) {
    base.logger.error("Dataverse webhook: tenant registry unavailable", { error: errorMessage(e) });
    return jsonError(503, "UNAVAILABLE", "the tenant registry could not be read; try again");
  }
  const asked = req.query.get("tenant");
  const routed = target.tenant ?? DEFAULT_TENANT;
  if (asked && asked !== routed) {
    return jsonError(400, "TENANT_MISMATCH", `the delivery's organization belongs to tenant "${routed}", not "${asked.slice(0, 40)}"`);
  }
  return api(replay, target);
}
