import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { ApiResponse } from "../shared/api/apiTypes.js";
import type { Services } from "../shared/runtime/services.js";
import { deleteTenantApi, getTenantApi, listTenantsApi, registerTenantApi } from "../shared/tenants/tenantsApi.js";
import { http } from "./register.js";
import { withServices } from "./runStatus.js";

/** The tenant registry's routes (product.md "Multi-tenant"); the admin key is checked in code. */
const handler = (api: (req: HttpRequest, s: Services) => Promise<ApiResponse>) =>
  (req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => withServices(context, (s) => api(req, s));

export const TenantFunctionNames = {
  register: "tenantsRegister",
  list: "tenantsList",
  get: "tenantsGet",
  delete: "tenantsDelete",
} as const;

const N = TenantFunctionNames;
http(N.register, { methods: ["POST"], route: "tenants", authLevel: "anonymous", handler: handler(registerTenantApi) });
http(N.list, { methods: ["GET"], route: "tenants", authLevel: "anonymous", handler: handler(listTenantsApi) });
http(N.get, { methods: ["GET"], route: "tenants/{id}", authLevel: "anonymous", handler: handler(getTenantApi) });
http(N.delete, { methods: ["DELETE"], route: "tenants/{id}", authLevel: "anonymous", handler: handler(deleteTenantApi) });
