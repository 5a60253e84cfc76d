import { z } from "zod";
import { errorMessage, ErrorCodes, isSyncError } from "../errors.js";
import { checkTenant, checkUrl } from "../config/settingRules.js";
import type { Services } from "../runtime/services.js";
import { adminDenied, jsonError, type ApiRequest, type ApiResponse } from "../api/apiTypes.js";
import type { TenantRecord } from "./registry.js";
import { DEFAULT_TENANT, tenantIdProblem } from "./tenantIds.js";
import { tenantsOf, type TenantDirectory } from "./tenants.js";

const MAX_BODY = 16 * 1024;

const checked = (check: (raw: string) => { value: string } | { problem: string }) => (raw: string, ctx: z.RefinementCtx) => {
  const r = check(raw);
  if ("problem" in r) ctx.addIssue({ code: "custom", message: r.problem });
};

const NewTenant = z.strictObject({
  id: z.string().superRefine((id, ctx) => {
    const problem = id === DEFAULT_TENANT ? "\"default\" is the deployment's own tenant (its settings); choose another id" : tenantIdProblem(id);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  tenantId: z.string().superRefine(checked(checkTenant)),
  dynamicsInstanceUrl: z.string().superRefine(checked((v) => checkUrl(v, { allowPath: false, loopbackHttp: true }))),
  appBaseUrl: z.string().superRefine(checked((v) => checkUrl(v, { allowPath: true, loopbackHttp: true, httpAnyHost: true }))).optional(),
});

/** POST /api/tenants — registers a customer tenant after a real token request and WhoAmI (product.md "Multi-tenant"). */
export async function registerTenantApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  const text = await req.text();
  if (Buffer.byteLength(text, "utf8") > MAX_BODY) return jsonError(413, "BODY_TOO_LARGE", `the body is over ${MAX_BODY} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text || "null");
  } catch (e) {
    return jsonError(400, "INVALID_JSON", `the body is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = NewTenant.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return jsonError(400, "INVALID_REQUEST", problems.join("; "), { problems });
  }
  const input = { ...parsed.data, dynamicsInstanceUrl: parsed.data.dynamicsInstanceUrl.replace(/\/+$/, "") };
  const dir = tenantsOf(s);
  try {
    const result = await dir.register(input, new Date(s.clock.now()).toISOString());
    switch (result.status) {
      case "exists": return jsonError(409, "TENANT_EXISTS", `a tenant "${input.id}" is already registered`);
      case "consent_required": return { status: 424, jsonBody: { id: input.id, status: result.status, adminConsentUrl: result.adminConsentUrl, message: result.message } };
      case "application_user_missing": return { status: 424, jsonBody: { id: input.id, status: result.status, message: result.message } };
      case "active": {
        s.logger.info("tenant registered", { tenant: input.id, organizationId: result.organizationId });
        const services = await dir.services(input.id);
        return { status: 201, headers: { location: `${new URL(req.url).origin}/api/tenants/${input.id}` }, jsonBody: { id: input.id, status: "active", organizationId: result.organizationId, webhookKeys: webhookKeys(services) } };
      }
    }
  } catch (e) {
    if (isSyncError(e) && e.code === ErrorCodes.StorageEnvironmentMismatch) return jsonError(409, e.code, e.message);
    s.logger.warn("tenant registration failed", { tenant: input.id, error: errorMessage(e) });
    return jsonError(502, isSyncError(e) ? e.code : "UNAVAILABLE", `the tenant's access could not be checked: ${errorMessage(e)}`);
  }
}

/** GET /api/tenants — every registered tenant with its status and last successful run. */
export async function listTenantsApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  try {
    const dir = tenantsOf(s);
    const records = await (await dir.registry()).list();
    const tenants = await Promise.all(records.map(async (t) => summary(t, await lastSuccessOf(dir, t.id))));
    return { status: 200, jsonBody: { tenants } };
  } catch (e) {
    return unavailable(s, e);
  }
}

/** GET /api/tenants/{id} */
export async function getTenantApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  const id = req.params.id ?? "";
  const bad = badId(id);
  if (bad) return bad;
  try {
    const dir = tenantsOf(s);
    const t = await (await dir.registry()).get(id);
    if (!t) return notFound(id);
    const services = await dir.services(id).catch(() => undefined);
    return {
      status: 200,
      jsonBody: {
        ...summary(t, await lastSuccessOf(dir, id)), organizationId: t.organizationId, registeredAt: t.registeredAt,
        ...(t.appBaseUrl ? { appBaseUrl: t.appBaseUrl } : {}), ...(services ? { webhookKeys: webhookKeys(services) } : {}),
      },
    };
  } catch (e) {
    return unavailable(s, e);
  }
}

/** DELETE /api/tenants/{id}?purge=true|false — 204; with purge, the tenant's state tables go too (nobody else's). */
export async function deleteTenantApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  const id = req.params.id ?? "";
  const bad = badId(id);
  if (bad) return bad;
  if (id === DEFAULT_TENANT) return jsonError(400, "INVALID_TENANT", "the default tenant is the deployment's own settings: it cannot be deleted");
  const purgeRaw = req.query.get("purge") ?? "false";
  if (purgeRaw !== "true" && purgeRaw !== "false") return jsonError(400, "INVALID_REQUEST", "purge: must be true or false");
  try {
    const removed = await tenantsOf(s).remove(id, purgeRaw === "true");
    if (!removed) return notFound(id);
    s.logger.info("tenant deleted", { tenant: id, purge: purgeRaw === "true" });
    return { status: 204 };
  } catch (e) {
    return unavailable(s, e);
  }
}

function summary(t: TenantRecord, lastSuccessAt: string | undefined) {
  return { id: t.id, tenantId: t.tenantId, dynamicsInstanceUrl: t.dynamicsInstanceUrl, status: t.status, lastSuccessAt: lastSuccessAt ?? null };
}

/** The newest success over the tenant's mappings and directions (its own health rows). */
async function lastSuccessOf(dir: TenantDirectory, id: string): Promise<string | undefined> {
  const services = await dir.services(id).catch(() => undefined);
  if (!services) return undefined;
  let last: string | undefined;
  for (const mapping of services.engine.mappingNames) {
    for (const direction of ["toDataverse", "toApp"] as const) {
      const h = await services.state.getHealth(mapping, direction);
      if (h?.lastSuccessAt && (!last || h.lastSuccessAt > last)) last = h.lastSuccessAt;
    }
  }
  return last;
}

/** The keys the tenant's Dataverse webhook (`?code=`) and app notices are checked with: the admin shares them with the customer. */
function webhookKeys(services: Services) {
  const w = services.settings.webhooks;
  return { ...(w.dataverseKey ? { dataverse: w.dataverseKey } : {}), ...(w.appSecret ? { app: w.appSecret } : {}) };
}

function badId(id: string): ApiResponse | undefined {
  const problem = tenantIdProblem(id);
  return problem ? jsonError(400, "INVALID_TENANT", problem) : undefined;
}

function notFound(id: string): ApiResponse {
  return jsonError(404, ErrorCodes.TenantNotFound, `no tenant "${id}" is registered`);
}

function unavailable(s: Services, e: unknown): ApiResponse {
  s.logger.error("tenant registry could not be read", { error: errorMessage(e) });
  return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "the tenant registry could not be read; try again");
}
