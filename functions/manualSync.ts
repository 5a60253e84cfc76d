import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { manualSyncApi } from "../shared/api/syncApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { http } from "./register.js";

export async function manualSync(req: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return manualSyncApi(req, await getServices());
}

// The key is checked in code against ADMIN_API_KEY (so it holds under any host and locally).
http(FunctionNames.manualSync, { methods: ["POST"], route: "sync", authLevel: "anonymous", handler: manualSync });
