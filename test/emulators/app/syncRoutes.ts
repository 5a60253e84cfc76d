/**
 * The App Sync API of product.md over the in-memory store: pure request -> response, no sockets,
 * so the HTTP shell (sampleApp.ts) stays small.
 */
import { parseJson } from "../../../shared/http/exactJson.js";
import type { AppStore } from "./appStore.js";
import { toAppRecord } from "./appStore.js";
import { assignId, validateData } from "./demoEntities.js";

export interface RouteRequest {
  method: string;
  /** Path after the base path, e.g. `/sync/mentor/m-0001`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  rawBody: string;
}

export interface RouteResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

export const errorBody = (code: string, message: string) => ({ error: { code, message } });
const fail = (status: number, code: string, message: string): RouteResponse => ({ status, body: errorBody(code, message) });
const withEtag = <T extends { version: string }>(status: number, body: T): RouteResponse => ({ status, headers: { etag: `"${body.version}"` }, body });

export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString("base64url");
}

export function decodeCursor(cursor: string): number | undefined {
  const m = /^s(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return m ? Number(m[1]) : undefined;
}

export function handleSyncRequest(store: AppStore, req: RouteRequest): RouteResponse {
  const segments = req.path.split("/").filter(Boolean);
  if (segments[0] !== "sync" || segments.length < 2 || segments.length > 3) return fail(404, "NOT_FOUND", `No route for ${req.method} ${req.path}`);
  let entity: string;
  let id: string | undefined;
  try {
    entity = decodeURIComponent(segments[1]);
    id = segments[2] === undefined ? undefined : decodeURIComponent(segments[2]);
  } catch {
    return fail(400, "BAD_REQUEST", "The path is not valid percent-encoding");
  }
  if (id === undefined) {
    if (req.method === "POST") return create(store, entity, req);
    return fail(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on /sync/{entity}`);
  }
  if (id === "changes" && req.method === "GET") return changes(store, entity, req.query);
  switch (req.method) {
    case "GET": {
      const record = store.live(entity, id);
      return record ? withEtag(200, toAppRecord(record)) : fail(404, "NOT_FOUND", `${entity} ${id} does not exist`);
    }
    case "PATCH":
      return update(store, entity, id, req);
    case "DELETE": {
      const record = store.live(entity, id);
      if (!record) return fail(404, "NOT_FOUND", `${entity} ${id} does not exist`);
      if (!versionMatches(req.headers["if-match"], record.version)) return fail(412, "VERSION_MISMATCH", `${entity} ${id} has changed (version ${record.version})`);
      store.remove(entity, id);
      return { status: 204 };
    }
    default:
      return fail(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on /sync/{entity}/{id}`);
  }
}

function changes(store: AppStore, entity: string, query: URLSearchParams): RouteResponse {
  const limitText = query.get("limit");
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT || (limitText !== null && !/^\d+$/.test(limitText))) {
    return fail(400, "BAD_REQUEST", `limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  const cursor = query.get("cursor");
  const after = cursor === null || cursor === "" ? 0 : decodeCursor(cursor);
  if (after === undefined) return fail(400, "BAD_REQUEST", "cursor is not a cursor this API issued");
  const page = store.changes(entity, after, limit);
  return { status: 200, body: { records: page.records, nextCursor: encodeCursor(page.lastSeq), hasMore: page.hasMore } };
}

type WriteBody = { data: Record<string, unknown>; dataverseId?: string };

function parseWriteBody(raw: string): WriteBody | RouteResponse {
  let parsed: unknown;
  try {
    parsed = parseJson(raw);
  } catch {
    return fail(400, "BAD_REQUEST", "The body is not valid JSON");
  }
  if (!isObject(parsed) || !isObject(parsed.data)) return fail(400, "BAD_REQUEST", "The body must be an object with a data object");
  if (parsed.dataverseId !== undefined && typeof parsed.dataverseId !== "string") return fail(400, "BAD_REQUEST", "dataverseId must be a string");
  return { data: parsed.data, dataverseId: parsed.dataverseId as string | undefined };
}

function create(store: AppStore, entity: string, req: RouteRequest): RouteResponse {
  const body = parseWriteBody(req.rawBody);
  if ("status" in body) return body;
  if (body.dataverseId) {
    // A retried POST whose first answer was lost must not create a second record.
    const existing = store.findByDataverseId(entity, body.dataverseId);
    if (existing) return withEtag(200, { id: existing.id, version: existing.version, updatedAt: existing.updatedAt });
  }
  const problem = validateData(entity, body.data, store);
  if (problem) return fail(422, "VALIDATION", problem);
  const id = assignId(entity, body.data, store);
  const result = store.put(entity, id, body.data, body.dataverseId);
  return { status: 201, headers: { etag: `"${result.version}"`, location: `/sync/${encodeURIComponent(entity)}/${encodeURIComponent(id)}` }, body: result };
}

function update(store: AppStore, entity: string, id: string, req: RouteRequest): RouteResponse {
  const body = parseWriteBody(req.rawBody);
  if ("status" in body) return body;
  const current = store.live(entity, id);
  if (!current) return fail(404, "NOT_FOUND", `${entity} ${id} does not exist`);
  if (!versionMatches(req.headers["if-match"], current.version)) return fail(412, "VERSION_MISMATCH", `${entity} ${id} has changed (version ${current.version})`);
  const problem = validateData(entity, body.data, store);
  if (problem) return fail(422, "VALIDATION", problem);
  return withEtag(200, store.patch(entity, id, body.data, body.dataverseId)!);
}

/** `If-Match` absent or `*` always matches; otherwise one of the quoted (optionally weak) versions must. */
function versionMatches(header: string | undefined, version: string): boolean {
  if (header === undefined || header.trim() === "*") return true;
  return header.split(",").map((t) => t.trim().replace(/^W\//, "")).some((t) => t === `"${version}"`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
