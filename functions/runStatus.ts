import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { servicesUnavailable, type ApiResponse } from "../shared/api/apiTypes.js";
import { listRunsApi, runStatusApi } from "../shared/api/syncApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices, type Services } from "../shared/runtime/services.js";
import { forTenant } from "../shared/tenants/tenantRequest.js";
import { http } from "./register.js";

export async function withServices(context: InvocationContext, api: (s: Services) => Promise<ApiResponse>): Promise<HttpResponseInit> {
  const services = await getServices().catch((e: unknown) => e instanceof Error ? e : new Error(String(e)));
  if (services instanceof Error) return servicesUnavailable(services, (m) => context.error(m));
  return api(services);
}

export async function runStatus(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withServices(context, (s) => forTenant(req, s, runStatusApi));
}

export async function listRuns(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withServices(context, (s) => forTenant(req, s, listRunsApi));
}

// Admin routes: the key is checked in code against ADMIN_API_KEY (see manualSync.ts).
http(FunctionNames.runStatus, { methods: ["GET"], route: "sync/runs/{runId}", authLevel: "anonymous", handler: runStatus });
http(FunctionNames.listRuns, { methods: ["GET"], route: "sync/runs", authLevel: "anonymous", handler: listRuns });
