import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { healthApi } from "../shared/api/healthApi.js";
import { FunctionNames } from "../shared/names.js";
import { getServices } from "../shared/runtime/services.js";
import { http } from "./register.js";

export async function health(_req: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return await healthApi(await getServices());
  } catch (e) {
    return { status: 503, jsonBody: { status: "unhealthy", problems: [e instanceof Error ? e.message : String(e)] } };
  }
}

http(FunctionNames.health, { methods: ["GET"], route: "health", authLevel: "anonymous", handler: health });
