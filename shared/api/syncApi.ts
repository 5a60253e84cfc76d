import { z } from "zod";
import { isSyncError } from "../errors.js";
import type { Services } from "../runtime/services.js";
import { adminAuthorized, jsonError, unauthorized, type ApiRequest, type ApiResponse } from "./apiTypes.js";

const ManualSync = z.strictObject({
  mapping: z.string().min(1).optional(),
  mode: z.enum(["delta", "full"]).default("delta"),
  dryRun: z.boolean().default(false),
});

const MAX_BODY = 16 * 1024;

/** POST /api/sync — start runs; answers 202 with the run ids and where to read their status. */
export async function manualSyncApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  if (!adminAuthorized(req, s.settings.adminApiKey)) return unauthorized();
  const text = await req.text();
  if (text.length > MAX_BODY) return jsonError(413, "BODY_TOO_LARGE", `the body is over ${MAX_BODY} bytes`);
  let json: unknown = {};
  if (text.trim()) {
    try {
      json = JSON.parse(text);
    } catch (e) {
      return jsonError(400, "INVALID_JSON", `the body is not valid JSON: ${(e as Error).message}`);
    }
  }
  const parsed = ManualSync.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return jsonError(400, "INVALID_REQUEST", problems.join("; "), { problems });
  }
  const { mapping, mode, dryRun } = parsed.data;
  const known = s.engine.mappingNames;
  if (mapping && !known.includes(mapping)) {
    return jsonError(404, "UNKNOWN_MAPPING", `unknown mapping "${mapping}"; known mappings: ${known.join(", ")}`, { known });
  }
  const runs = await s.engine.startRuns({ mapping, mode, dryRun, trigger: "manual" });
  const base = new URL(req.url);
  const statusUrl = (id: string) => `${base.origin}/api/sync/runs/${id}`;
  return {
    status: 202,
    jsonBody: { runId: runs[0].runId, statusUrl: statusUrl(runs[0].runId), runs: runs.map((r) => ({ mapping: r.mapping, runId: r.runId, statusUrl: statusUrl(r.runId) })) },
  };
}

/** GET /api/sync/runs/{runId} — a run's status and counts. */
export async function runStatusApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  if (!adminAuthorized(req, s.settings.adminApiKey)) return unauthorized();
  const runId = req.params.runId ?? "";
  if (!/^[0-9a-f-]{36}$/i.test(runId)) return jsonError(400, "INVALID_RUN_ID", "runId must be a GUID");
  try {
    const run = await s.state.getRun(runId);
    if (!run) return jsonError(404, "RUN_NOT_FOUND", `no run with id ${runId}`);
    const { etag: _etag, ...body } = run;
    return { status: 200, jsonBody: body };
  } catch (e) {
    return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "sync state could not be read");
  }
}
