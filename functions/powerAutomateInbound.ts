import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { powerAutomateApi } from "../shared/api/powerAutomateApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { forTenant } from "../shared/tenants/tenantRequest.js";
import { http } from "./register.js";

export async function powerAutomateInbound(req: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return forTenant(req, await getServices(), powerAutomateApi);
}

// Anonymous at the host: DATAVERSE_WEBHOOK_KEY is checked in code (x-functions-key or ?code=).
http(FunctionNames.powerAutomateInbound, { methods: ["POST"], route: "inbound/dataverse/{mapping}", authLevel: "anonymous", handler: powerAutomateInbound });
