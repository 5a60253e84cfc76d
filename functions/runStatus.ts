import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { runStatusApi } from "../shared/api/syncApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { http } from "./register.js";

export async function runStatus(req: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return runStatusApi(req, await getServices());
}

http(FunctionNames.runStatus, { methods: ["GET"], route: "sync/runs/{runId}", authLevel: "anonymous", handler: runStatus });
