import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { healthApi } from "../shared/api/healthApi.js";
import { errorMessage } from "../shared/errors.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { isApiResponse, servicesForRequest } from "../shared/tenants/tenantRequest.js";
import { http } from "./register.js";

export async function health(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const services = await servicesForRequest(req, await getServices());
    return isApiResponse(services) ? services : await healthApi(services);
  } catch (e) {
    // Anonymous route: the reason (which may name settings or hosts) goes to the log only.
    context.error(`health: services unavailable: ${errorMessage(e)}`);
    return { status: 503, headers: { "cache-control": "no-store" }, jsonBody: { status: "unhealthy", problems: ["the sync app is not ready (configuration or storage); see the function logs"] } };
  }
}

// Anonymous so platform probes can call it; it reveals no secrets (see healthApi).
http(FunctionNames.health, { methods: ["GET"], route: "health", authLevel: "anonymous", handler: health });
