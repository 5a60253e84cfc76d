import { handleBulk, type BulkMessage } from "./bulk.js";
import { getCollection, getCount } from "./collection.js";
import { jsonResponse, type CoreParts } from "./coreParts.js";
import { Errors } from "./dataverseErrors.js";
import { parseResourcePath } from "./odata/keys.js";
import { createRecord, deleteRecord, getRecord, patchRecord } from "./records.js";
import { faultResponse, DataverseFault, type EmulatorContext, type EmuRequest, type EmuResponse } from "./types.js";

export const SERVICE_PATH = "/api/data/v9.2/";
const BulkMessages = new Set<string>(["CreateMultiple", "UpdateMultiple", "UpsertMultiple", "DeleteMultiple"]);

/** The decoded path below the service root (`contacts(…)`), or undefined when outside it. */
export function relativePath(url: URL): string | undefined {
  if (!url.pathname.startsWith(SERVICE_PATH)) return undefined;
  try {
    return decodeURIComponent(url.pathname.slice(SERVICE_PATH.length));
  } catch {
    return undefined;
  }
}

/** Routes one non-batch request; Dataverse faults become their error responses. */
export async function route(req: EmuRequest, core: CoreParts, ctx: EmulatorContext): Promise<EmuResponse> {
  try {
    return await routeOrThrow(req, core, ctx);
  } catch (err) {
    if (err instanceof DataverseFault) return faultResponse(err);
    throw err;
  }
}

async function routeOrThrow(req: EmuRequest, core: CoreParts, ctx: EmulatorContext): Promise<EmuResponse> {
  const rel = relativePath(req.url);
  const method = req.method.toUpperCase();
  if (rel === undefined) throw Errors.segment(req.url.pathname);
  if (rel === "$batch") throw Errors.badQuery("A batch request cannot contain another batch request.");
  if (rel === "WhoAmI" || rel === "WhoAmI()") {
    if (method !== "GET") throw Errors.method(method);
    return whoAmI(req, core);
  }
  const path = parseResourcePath(rel);
  if (!path) throw Errors.badQuery(`Bad Request - Error in query syntax: '${rel}'.`);
  const def = core.store.schema.bySet.get(path.entitySet);
  if (!def) throw Errors.segment(path.entitySet);
  if (path.rest.length === 1 && !path.key) {
    const seg = path.rest[0];
    const message = seg.startsWith("Microsoft.Dynamics.CRM.") ? seg.slice("Microsoft.Dynamics.CRM.".length) : "";
    if (BulkMessages.has(message)) {
      if (method !== "POST") throw Errors.method(method);
      // Tables without bulk messages (activities other than task: activities.ts) refuse them.
      if (!def.bulkMessages) throw new DataverseFault(400, "0x80040800", `The '${message}' message is not supported for the entity '${def.logicalName}'.`);
      return handleBulk(message as BulkMessage, def.entitySetName, req, ctx);
    }
    if (seg === "$count" && method === "GET") return getCount(def, core);
  }
  if (path.rest.length) throw Errors.segment(path.rest[0]);
  if (!path.key) {
    if (method === "GET") return getCollection(req, def, core);
    if (method === "POST") return createRecord(req, def, core);
    throw Errors.method(method);
  }
  if (method === "GET") return getRecord(req, def, path.key, core);
  if (method === "PATCH") return patchRecord(req, def, path.key, path.keyText!, core);
  if (method === "DELETE") return deleteRecord(req, def, path.key, core);
  throw Errors.method(method);
}

/** `WhoAmI`: the caller's systemuserid, business unit and organization (doc §1, PAR sample). */
function whoAmI(req: EmuRequest, core: CoreParts): EmuResponse {
  return jsonResponse(200, {
    "@odata.context": `${core.serviceRoot}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
    BusinessUnitId: core.businessUnitId,
    UserId: req.userId,
    OrganizationId: core.organizationId,
  });
}
