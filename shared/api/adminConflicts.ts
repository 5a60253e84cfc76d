import { z } from "zod";
import { errorMessage, ErrorCodes, isSyncError } from "../errors.js";
import type { ConflictRecord } from "../ports.js";
import type { Services } from "../runtime/services.js";
import { findConflict, resolveConflict } from "../sync/operatorActions.js";
import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { adminGuard, decodeOpaque, encodeOpaque, invalid, jsonBodyOf, listRoute } from "./adminSupport.js";

const Side = z.enum(["app", "dataverse"]);
const Resolve = z.union([z.strictObject({ take: Side }), z.strictObject({ fields: z.record(z.string(), Side) })]);

/** A parked conflict side by side: per field the app name, the Dataverse column, and the three values. */
export function publicConflict(c: ConflictRecord, s: Services) {
  const columns = new Map(s.engine.mapping(c.mapping).fields.map((f) => [f.app, f.dataverse]));
  return {
    mapping: c.mapping, key: encodeOpaque(c.appId), appId: c.appId, dataverseId: c.dataverseId, detectedAt: c.detectedAt,
    ...(c.appUpdatedAt ? { appUpdatedAt: c.appUpdatedAt } : {}), ...(c.dataverseModifiedOn ? { dataverseModifiedOn: c.dataverseModifiedOn } : {}),
    fields: c.fields.map((f) => ({ app: f.field, dataverse: columns.get(f.field) ?? f.field, base: f.base ?? null, appValue: f.app ?? null, dataverseValue: f.dataverse ?? null })),
  };
}

/** GET /api/conflicts?mapping=&limit=&continuationToken= — open conflicts only. */
export function listConflictsApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  return listRoute(req, s, {
    load: async (mapping) => (await s.state.listConflicts({ mapping, status: "open" })).filter((c) => s.engine.mappingNames.includes(c.mapping)),
    sortKey: (c) => c.id,
    show: (c) => publicConflict(c, s),
  });
}

/** POST /api/conflicts/{mapping}/{key}/resolve — body {"take":side} or {"fields":{field:side}}; 202 once queued. */
export async function resolveConflictApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const mapping = req.params.mapping ?? "";
  const denied = adminGuard(req, s, mapping);
  if (denied) return denied;
  const appId = decodeOpaque(req.params.key ?? "");
  if (appId === undefined) return invalid(["key: not a conflict key this API gave out (use the key from GET /api/conflicts as it is)"]);
  const parsed = await jsonBodyOf(req, Resolve);
  if ("response" in parsed) return parsed.response;
  try {
    const conflict = await findConflict(s.engine, mapping, appId);
    if (!conflict) return jsonError(404, "CONFLICT_NOT_FOUND", `no open conflict with that key in mapping ${mapping} (it may be resolved already)`);
    await resolveConflict(s.engine, conflict, parsed.body);
    return { status: 202, jsonBody: { status: "queued" } };
  } catch (e) {
    if (isSyncError(e) && e.code === ErrorCodes.InvalidResolution) return jsonError(400, e.code, e.message);
    s.logger.error("conflict could not be resolved", { error: errorMessage(e) });
    return jsonError(503, isSyncError(e) ? e.code : "UNAVAILABLE", "the resolution could not be stored or queued; try again");
  }
}
