import { errorMessage, isSyncError } from "../errors.js";
import { finopsServices } from "../finops/finopsServices.js";
import type { FinopsMessage } from "../finops/finopsLedger.js";
import { startFinopsRuns } from "../finops/finopsTriggers.js";
import type { Services } from "../runtime/services.js";
import { adminDenied, jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";

/** Messages listed per job, newest first. */
export const FINOPS_MESSAGES_LISTED = 20;

/**
 * GET /api/finops/jobs (admin key): each F&O job with its last run and success, and its latest
 * messages: `messageId` (imports) or `correlationId` (exports), F&O's status, the records, when it
 * was enqueued or dequeued, and when it was acknowledged.
 */
export async function finopsJobsApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminDenied(req, s.settings.adminApiKey);
  if (denied) return denied;
  const jobs = s.config.finops ?? [];
  try {
    const f = jobs.length ? await finopsServices(s) : undefined;
    const body = await Promise.all(jobs.map(async (job) => {
      const direction = job.direction === "to-finops" ? "toDataverse" : "toApp";
      const [health, messages] = await Promise.all([s.state.getHealth(job.name, direction), f!.ledger.recent(job.name, FINOPS_MESSAGES_LISTED)]);
      return {
        name: job.name, direction: job.direction, api: job.api,
        lastRunAt: health?.lastRunAt ?? null, lastSuccessAt: health?.lastSuccessAt ?? null, lastRunStatus: health?.lastRunStatus ?? null,
        consecutiveFailures: health?.consecutiveFailures ?? 0,
        messages: messages.map(publicMessage),
      };
    }));
    return { status: 200, jsonBody: { jobs: body } };
  } catch (e) {
    s.logger.error("F&O jobs could not be read", { error: errorMessage(e) });
    return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "the F&O jobs' state could not be read; try again");
  }
}

function publicMessage(m: FinopsMessage): Record<string, unknown> {
  const ids = m.direction === "to-finops"
    ? { ...(m.messageId ? { messageId: m.messageId } : {}), ...(m.executionId ? { executionId: m.executionId } : {}), batchId: m.batchId }
    : { ...(m.correlationId ? { correlationId: m.correlationId } : {}), ...(m.executionId ? { executionId: m.executionId } : {}) };
  const when = m.direction === "to-finops" ? { enqueuedAt: m.enqueuedAt ?? null } : { dequeuedAt: m.dequeuedAt ?? null };
  return {
    ...ids, status: m.status, ...(m.finopsStatus ? { finopsStatus: m.finopsStatus } : {}), records: m.records, failed: m.failed, ...when,
    ...(m.ackedAt ? { ackedAt: m.ackedAt } : {}), ...(m.deliveries && m.deliveries > 1 ? { deliveries: m.deliveries } : {}),
  };
}

/** POST /api/sync with `{"finops": "<job>"}`: one queued run of the job; 202 with its id and status URL. */
export async function manualFinopsSync(req: ApiRequest, s: Services, job: string): Promise<ApiResponse> {
  const known = (s.config.finops ?? []).map((j) => j.name);
  if (!known.includes(job)) return jsonError(404, "FINOPS_UNKNOWN_JOB", `unknown F&O job "${job}"; known jobs: ${known.join(", ") || "none"}`, { known });
  let runId: string;
  try {
    [{ runId }] = await startFinopsRuns(s, [job], "manual");
  } catch (e) {
    s.logger.error("F&O run could not start", { error: errorMessage(e) });
    return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "the run could not be started (sync state or queue unavailable); try again");
  }
  const statusUrl = `${new URL(req.url).origin}/api/sync/runs/${runId}`;
  s.logger.info("manual F&O run started", { job, runId });
  return { status: 202, headers: { location: statusUrl }, jsonBody: { runId, statusUrl, runs: [{ mapping: job, runId, statusUrl }] } };
}
