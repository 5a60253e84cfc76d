import { randomUUID } from "node:crypto";
import { z } from "zod";
import { errorMessage, isSyncError } from "../errors.js";
import type { RunRecord } from "../ports.js";
import type { Services } from "../runtime/services.js";
import { adminDenied, jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { manualFinopsSync } from "./finopsApi.js";

const ManualSync = z.strictObject({
  mapping: z.string().min(1).optional(),
  /** `reconcile`: read both sides in full, compare with the links, repair, and report the divergence in the run. */
  mode: z.enum(["delta", "full", "reconcile"]).default("delta"),
  dryRun: z.boolean().default(false),
  /** A Finance & Operations job of the mapping file's `finops` array: one run of it (then mapping and mode do not apply). */
  finops: z.string().min(1).optional(),
});

/** The manual trigger's body is three small fields; anything bigger is not a mistake worth parsing. */
const MAX_BODY = 16 * 1024;
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const DEFAULT_RUNS_LIMIT = 20;
export const MAX_RUNS_LIMIT = 100;

/**
 * POST /api/sync — start runs; 202 with each run's id and status URL (`runs`) and the request's `runId`
 * (the run's own when only one started). Nothing is enqueued on bad input.
 */
export async function manualSyncApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  const text = await req.text();
  if (Buffer.byteLength(text, "utf8") > MAX_BODY) return jsonError(413, "BODY_TOO_LARGE", `the body is over ${MAX_BODY} bytes`);
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
  if (parsed.data.finops !== undefined) return manualFinopsSync(req, s, parsed.data.finops);
  const { mapping, mode, dryRun } = parsed.data;
  const unknown = unknownMapping(mapping, s);
  if (unknown) return unknown;
  let runs: RunRecord[];
  try {
    runs = await s.engine.startRuns({ mapping, mode, dryRun, trigger: "manual" });
  } catch (e) {
    s.logger.error("manual sync could not start", { error: errorMessage(e) });
    return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "the runs could not be started (sync state or queue unavailable); try again");
  }
  if (!runs.length) return jsonError(404, "NO_MAPPINGS", "the mapping file has no mappings to run");
  const origin = new URL(req.url).origin;
  const entries = runs.map((r) => ({ mapping: r.mapping, runId: r.runId, statusUrl: `${origin}/api/sync/runs/${r.runId}` }));
  // One run: the request is that run. Several: the request gets an id of its own, as a cycle of
  // `npm run sync` does, and each run keeps its own status URL (none of them stands for the rest).
  const requestId = entries.length === 1 ? entries[0].runId : randomUUID();
  s.logger.info("manual sync started", { requestId, mode, dryRun, runs: entries.map((e) => `${e.mapping} ${e.runId}`).join(", ") });
  if (entries.length === 1) {
    return { status: 202, headers: { location: entries[0].statusUrl }, jsonBody: { runId: requestId, statusUrl: entries[0].statusUrl, runs: entries } };
  }
  return { status: 202, jsonBody: { runId: requestId, runs: entries } };
}

/** GET /api/sync/runs/{runId} — a run's status, counts and notes. */
export async function runStatusApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  const runId = req.params.runId ?? "";
  if (!RUN_ID.test(runId)) return jsonError(400, "INVALID_RUN_ID", "runId must be a GUID");
  try {
    const run = await s.state.getRun(runId);
    if (!run) return jsonError(404, "RUN_NOT_FOUND", `no run with id ${runId}`);
    return { status: 200, jsonBody: publicRun(run) };
  } catch (e) {
    return stateUnavailable(s, e);
  }
}

/** GET /api/sync/runs?mapping=&limit= — the newest runs first (operators' overview). */
export async function listRunsApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  const mapping = req.query.get("mapping") || undefined;
  const rawLimit = req.query.get("limit");
  const limit = rawLimit === null || rawLimit === "" ? DEFAULT_RUNS_LIMIT : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RUNS_LIMIT) {
    return jsonError(400, "INVALID_REQUEST", `limit: must be a whole number from 1 to ${MAX_RUNS_LIMIT}`, { problems: [`limit: must be a whole number from 1 to ${MAX_RUNS_LIMIT}`] });
  }
  const unknown = unknownMapping(mapping, s);
  if (unknown) return unknown;
  try {
    const runs = await s.state.listRuns({ mapping, limit });
    return { status: 200, jsonBody: { runs: runs.map(publicRun) } };
  } catch (e) {
    return stateUnavailable(s, e);
  }
}

export function unknownMapping(mapping: string | undefined, s: Services): ApiResponse | undefined {
  const known = [...s.engine.mappingNames, ...(s.config.finops ?? []).map((j) => j.name)];
  if (mapping === undefined || known.includes(mapping)) return undefined;
  return jsonError(404, "UNKNOWN_MAPPING", `unknown mapping "${mapping}"; known mappings: ${known.join(", ")}`, { known });
}

/** The stored row minus storage internals. */
function publicRun(run: RunRecord): Omit<RunRecord, "etag"> {
  const { etag: _etag, ...body } = run;
  return body;
}

export function stateUnavailable(s: Services, e: unknown): ApiResponse {
  s.logger.error("sync state could not be read", { error: errorMessage(e) });
  return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "sync state could not be read; try again");
}
