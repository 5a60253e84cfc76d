import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { appWebhookApi } from "../shared/api/appWebhookApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { forTenant } from "../shared/tenants/tenantRequest.js";
import { http } from "./register.js";

export async function appWebhook(req: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return forTenant(req, await getServices(), appWebhookApi);
}

// Anonymous at the host: the app signs its notices (HMAC with APP_WEBHOOK_SECRET), checked in code.
http(FunctionNames.appWebhook, { methods: ["POST"], route: "webhooks/app", authLevel: "anonymous", handler: appWebhook });
