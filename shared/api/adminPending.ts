import { errorMessage, ErrorCodes, isSyncError } from "../errors.js";
import type { DeadLetter } from "../ports.js";
import type { Services } from "../runtime/services.js";
import { discardPending, pendingKey, retryPending } from "../sync/operatorActions.js";
import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { adminGuard, decodeOpaque, encodeOpaque, invalid, listRoute } from "./adminSupport.js";
import { stateUnavailable } from "./syncApi.js";

const DIRECTIONS = ["toDataverse", "toApp"] as const;

/** A pending entry as the operator routes show it (no payload: it may hold record values). */
export function publicPending(dl: DeadLetter) {
  return {
    mapping: dl.mapping, direction: dl.direction, key: encodeOpaque(pendingKey(dl)),
    ...(dl.appId ? { appId: dl.appId } : {}), ...(dl.dataverseId ? { dataverseId: dl.dataverseId } : {}),
    code: dl.code, message: dl.message, attempts: dl.attempts,
    firstSeenAt: dl.firstFailedAt, lastSeenAt: dl.lastFailedAt, nextAttemptAt: dl.nextAttemptAt ?? null,
  };
}

/** GET /api/pending?mapping=&direction=&limit=&continuationToken= */
export function listPendingApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const direction = req.query.get("direction") || undefined;
  return listRoute(req, s, {
    check: () => (direction !== undefined && !(DIRECTIONS as readonly string[]).includes(direction) ? invalid([`direction: must be one of ${DIRECTIONS.join(", ")}`]) : undefined),
    load: async (mapping) => (await s.state.listDeadLetters({ mapping })).filter((d) => direction === undefined || d.direction === direction),
    sortKey: (d) => d.id,
    show: publicPending,
  });
}

/** POST /api/pending/{mapping}/{key}/retry — 202 once the fresh re-read is queued. */
export async function retryPendingApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const target = pendingTarget(req, s);
  if ("response" in target) return target.response;
  try {
    if (!(await retryPending(s.engine, target.mapping, target.key))) return notFound(target.mapping);
    return { status: 202, jsonBody: { status: "queued" } };
  } catch (e) {
    if (isSyncError(e) && e.code === ErrorCodes.PendingNotRetryable) return jsonError(409, e.code, e.message);
    s.logger.error("pending record could not be retried", { error: errorMessage(e) });
    return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "the retry could not be queued (sync state or queue unavailable); try again");
  }
}

/** DELETE /api/pending/{mapping}/{key} — 204; the entry goes to the audit trail. */
export async function discardPendingApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const target = pendingTarget(req, s);
  if ("response" in target) return target.response;
  try {
    return (await discardPending(s.engine, target.mapping, target.key)) ? { status: 204 } : notFound(target.mapping);
  } catch (e) {
    return stateUnavailable(s, e);
  }
}

function pendingTarget(req: ApiRequest, s: Services): { mapping: string; key: string } | { response: ApiResponse } {
  const mapping = req.params.mapping ?? "";
  const denied = adminGuard(req, s, mapping);
  if (denied) return { response: denied };
  const key = decodeOpaque(req.params.key ?? "");
  if (key === undefined) return { response: invalid(["key: not a pending key this API gave out (use the key from GET /api/pending as it is)"]) };
  return { mapping, key };
}

const notFound = (mapping: string): ApiResponse => jsonError(404, "PENDING_NOT_FOUND", `no pending record with that key in mapping ${mapping} (it may have synced or been discarded)`);
