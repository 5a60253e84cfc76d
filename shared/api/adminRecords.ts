import type { DeadLetter } from "../ports.js";
import type { Services } from "../runtime/services.js";
import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { adminGuard } from "./adminSupport.js";
import { publicPending } from "./adminPending.js";
import { stateUnavailable } from "./syncApi.js";

/**
 * GET /api/records/{mapping}/{appId} — what an app that caches synced values needs to show a
 * staleness indicator: the link, when it last synced, whether it is pending, and `stale` once the
 * last sync (or the time it has been pending) is older than `options.stalenessHours`.
 */
export async function recordStatusApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const mapping = req.params.mapping ?? "";
  const denied = adminGuard(req, s, mapping);
  if (denied) return denied;
  const appId = req.params.appId ?? "";
  try {
    const link = await s.state.getLinkByApp(mapping, appId);
    const dataverseId = link?.dataverseId;
    const entries = await Promise.all([
      s.state.getDeadLetter(`${mapping}|toDataverse|${appId}`),
      dataverseId ? s.state.getDeadLetter(`${mapping}|toApp|${dataverseId}`) : Promise.resolve(null),
    ]);
    const pending = entries.filter((d): d is DeadLetter => d !== null).sort((a, b) => a.firstFailedAt.localeCompare(b.firstFailedAt))[0];
    if (!link && !pending) return jsonError(404, "RECORD_NOT_FOUND", `no synced or pending record ${appId} in mapping ${mapping}`);
    const hours = s.config.options.stalenessHours;
    const limit = s.clock.now() - hours * 3_600_000;
    const synced = link && !link.pendingCreate ? link.lastSyncedAt : null;
    const stale = synced === null || Date.parse(synced) < limit || (!!pending && Date.parse(pending.firstFailedAt) < limit);
    return {
      status: 200,
      jsonBody: { mapping, appId, dataverseId: dataverseId ?? pending?.dataverseId ?? null, lastSyncedAt: synced, pending: pending ? publicPending(pending) : null, stale, staleAfterHours: hours },
    };
  } catch (e) {
    return stateUnavailable(s, e);
  }
}
