import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { servicesUnavailable } from "../shared/api/apiTypes.js";
import { manualSyncApi } from "../shared/api/syncApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { forTenant } from "../shared/tenants/tenantRequest.js";
import { http } from "./register.js";

export async function manualSync(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = await getServices().catch((e: unknown) => e instanceof Error ? e : new Error(String(e)));
  if (services instanceof Error) return servicesUnavailable(services, (m) => context.error(m));
  return forTenant(req, services, manualSyncApi);
}

// "anonymous" for the host: the key is checked in code against ADMIN_API_KEY, so the same key
// works under the Azure host, the local runner and behind any gateway.
http(FunctionNames.manualSync, { methods: ["POST"], route: "sync", authLevel: "anonymous", handler: manualSync });
