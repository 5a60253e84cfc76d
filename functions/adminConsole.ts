import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { listConflictsApi, resolveConflictApi } from "../shared/api/adminConflicts.js";
import { connectivityApi, dashboardApi } from "../shared/api/adminDashboard.js";
import { exportApi } from "../shared/api/adminExport.js";
import { discardPendingApi, listPendingApi, retryPendingApi } from "../shared/api/adminPending.js";
import { recordStatusApi } from "../shared/api/adminRecords.js";
import type { ApiRequest, ApiResponse } from "../shared/api/apiTypes.js";
import type { Services } from "../shared/runtime/services.js";
import { http } from "./register.js";
import { withServices } from "./runStatus.js";
import { forTenant } from "../shared/tenants/tenantRequest.js";

/**
 * The operator console (product.md "Operator routes"): the dashboard page and the admin routes it
 * reads. The key is checked in code against ADMIN_API_KEY, as for POST /api/sync; the page itself is
 * served without one (it holds no data).
 */
const handler = (api: (req: ApiRequest, s: Services) => Promise<ApiResponse>) =>
  (req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => withServices(context, (s) => forTenant(req, s, api));

export const AdminFunctionNames = {
  dashboard: "adminDashboard",
  connectivity: "adminConnectivity",
  listPending: "adminListPending",
  retryPending: "adminRetryPending",
  discardPending: "adminDiscardPending",
  listConflicts: "adminListConflicts",
  resolveConflict: "adminResolveConflict",
  recordStatus: "adminRecordStatus",
  export: "adminExport",
} as const;

const N = AdminFunctionNames;
http(N.dashboard, { methods: ["GET"], route: "admin/{file?}", authLevel: "anonymous", handler: (req) => dashboardApi(req) as Promise<HttpResponseInit> });
http(N.connectivity, { methods: ["GET"], route: "admin/connectivity", authLevel: "anonymous", handler: handler(connectivityApi) });
http(N.listPending, { methods: ["GET"], route: "pending", authLevel: "anonymous", handler: handler(listPendingApi) });
http(N.retryPending, { methods: ["POST"], route: "pending/{mapping}/{key}/retry", authLevel: "anonymous", handler: handler(retryPendingApi) });
http(N.discardPending, { methods: ["DELETE"], route: "pending/{mapping}/{key}", authLevel: "anonymous", handler: handler(discardPendingApi) });
http(N.listConflicts, { methods: ["GET"], route: "conflicts", authLevel: "anonymous", handler: handler(listConflictsApi) });
http(N.resolveConflict, { methods: ["POST"], route: "conflicts/{mapping}/{key}/resolve", authLevel: "anonymous", handler: handler(resolveConflictApi) });
http(N.recordStatus, { methods: ["GET"], route: "records/{mapping}/{appId}", authLevel: "anonymous", handler: handler(recordStatusApi) });
http(N.export, { methods: ["GET"], route: "export/{file}", authLevel: "anonymous", handler: handler(exportApi) });
