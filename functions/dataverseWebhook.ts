import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { dataverseWebhookApi } from "../shared/api/dataverseWebhookApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { routeDataverseWebhook } from "../shared/tenants/tenantRequest.js";
import { http } from "./register.js";

export async function dataverseWebhook(req: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  // Routed to its tenant by the delivery's OrganizationId, then checked with that tenant's key.
  return routeDataverseWebhook(req, await getServices(), dataverseWebhookApi);
}

// Anonymous at the host: the WebhookKey, HttpHeader, HttpQueryString and HMAC styles are all checked
// in code (constant time), so the same rules hold under any host and under the local runner.
http(FunctionNames.dataverseWebhook, { methods: ["POST"], route: "webhooks/dataverse", authLevel: "anonymous", handler: dataverseWebhook });
