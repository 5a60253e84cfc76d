import { parseJson } from "../../../shared/http/exactJson.js";
import { jsonResponse, type CoreParts } from "./coreParts.js";
import { Errors } from "./dataverseErrors.js";
import { etagOf, keyRecord, type ResolvedKey } from "./entities.js";
import type { KeyPart } from "./odata/keys.js";
import { formatRow, parseSelect, selectSuffix } from "./odata/format.js";
import { parsePrefer } from "./odata/prefer.js";
import type { TableDef } from "./schema.js";
import type { EmuRequest, EmuResponse } from "./types.js";

/** Single-record routes: POST `<set>`, GET/PATCH/DELETE `<set>(<key>)` (doc §4). */
export function createRecord(req: EmuRequest, def: TableDef, core: CoreParts): EmuResponse {
  const body = parseBody(req, def);
  const id = core.entities.create(def.logicalName, body, req.userId);
  const entityId = `${core.serviceRoot}${def.entitySetName}(${id})`;
  const prefs = parsePrefer(req.headers.prefer);
  if (prefs.returnRepresentation) return representation(req, def, core, id, 201);
  return { status: 204, headers: { "odata-version": "4.0", "odata-entityid": entityId, location: entityId } };
}

export function getRecord(req: EmuRequest, def: TableDef, key: KeyPart[], core: CoreParts): EmuResponse {
  if (req.url.searchParams.has("$expand")) throw Errors.badQuery("The emulator does not support $expand.");
  const id = mustExist(def, core.entities.resolveKey(def, keyRecord(def, key)));
  const row = core.store.get(def.logicalName, id)!;
  const prefs = parsePrefer(req.headers.prefer);
  const ifNoneMatch = req.headers["if-none-match"];
  // Dataverse never answers 304 when annotations are requested (doc §4, COND).
  if (ifNoneMatch && ifNoneMatch !== "null" && prefs.annotations === undefined && ifNoneMatch.trim() === etagOf(row)) {
    return { status: 304, headers: { "odata-version": "4.0", etag: etagOf(row) } };
  }
  return representation(req, def, core, id, 200);
}

export function patchRecord(req: EmuRequest, def: TableDef, key: KeyPart[], keyText: string, core: CoreParts): EmuResponse {
  const body = parseBody(req, def);
  const keyRec = keyRecord(def, key);
  const resolved = core.entities.resolveKey(def, keyRec);
  const ifMatch = req.headers["if-match"];
  const ifNoneMatch = req.headers["if-none-match"];
  let created: boolean;
  let id: string;
  if (ifNoneMatch?.trim() === "*") {
    // Create only.
    if (resolved.id) throw Errors.exists();
    ({ id, created } = core.entities.upsert(def.logicalName, keyRec, body, req.userId));
  } else if (ifMatch) {
    // Update only; a weak ETag must also be current.
    id = mustExist(def, resolved);
    core.entities.existing(def, id, ifMatch);
    ({ id, created } = core.entities.upsert(def.logicalName, keyRec, body, req.userId));
  } else {
    ({ id, created } = core.entities.upsert(def.logicalName, keyRec, body, req.userId));
  }
  if (parsePrefer(req.headers.prefer).returnRepresentation) return representation(req, def, core, id, created ? 201 : 200);
  const entityId = `${core.serviceRoot}${def.entitySetName}(${keyText})`;
  return { status: 204, headers: { "odata-version": "4.0", "odata-entityid": entityId } };
}

export function deleteRecord(req: EmuRequest, def: TableDef, key: KeyPart[], core: CoreParts): EmuResponse {
  const id = mustExist(def, core.entities.resolveKey(def, keyRecord(def, key)));
  core.entities.delete(def.logicalName, id, req.userId, { ifMatch: req.headers["if-match"] });
  return { status: 204, headers: { "odata-version": "4.0" } };
}

function representation(req: EmuRequest, def: TableDef, core: CoreParts, id: string, status: number): EmuResponse {
  const row = core.store.get(def.logicalName, id)!;
  const prefs = parsePrefer(req.headers.prefer);
  const select = req.url.searchParams.get("$select");
  const body = {
    "@odata.context": `${core.serviceRoot}$metadata#${def.entitySetName}${selectSuffix(select)}/$entity`,
    ...formatRow(def, row, { columns: parseSelect(def, select), annotations: prefs.annotations }, core.store),
  };
  const applied: string[] = [];
  if (prefs.returnRepresentation && req.method !== "GET") applied.push("return=representation");
  if (prefs.annotations !== undefined) applied.push(`odata.include-annotations="${prefs.annotations}"`);
  return jsonResponse(status, body, { etag: etagOf(row), ...(applied.length ? { "preference-applied": applied.join(",") } : {}) });
}

function mustExist(def: TableDef, resolved: ResolvedKey): string {
  if (resolved.id) return resolved.id;
  if (resolved.alternateKey) throw Errors.keyNotFound(def.logicalName);
  throw Errors.notFound(def.logicalName, String(resolved.columns[def.primaryId]));
}

export function parseBody(req: EmuRequest, def: TableDef): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJson(req.body);
  } catch {
    throw Errors.payload(def.entitySetName, "The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw Errors.payload(def.entitySetName, "The request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}
