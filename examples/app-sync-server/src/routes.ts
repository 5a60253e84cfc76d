/**
 * The App Sync API (docs/openapi/app-sync-api.json) as an Express router over a `RecordStore`.
 * Every answer is JSON; errors are `{"error":{"code","message"}}`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { exactNumbers } from "./exactJson.js";
import { validateData, type EntityDefinitions } from "./fields.js";
import type { Data, RecordStore, StoredRecord } from "./store.js";

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

export interface RouterOptions {
  /** The key the sync sends as `Authorization: Bearer <APP_API_KEY>`. */
  apiKey: string;
  entities: EntityDefinitions;
  store: RecordStore;
}

export function appSyncRouter(options: RouterOptions): express.Router {
  const { entities, store } = options;
  const keyHash = sha256(options.apiKey);
  const router = express.Router({ caseSensitive: true, strict: true });

  // Authentication first: an unauthenticated caller learns nothing, not even that its body is bad.
  router.use((req, res, next) => (authorized(req.headers.authorization, keyHash) ? next() : unauthorized(res)));
  router.use(express.json({ limit: "1mb", reviver: exactNumbers as (key: string, value: unknown) => unknown }));
  router.use("/sync/:entity", (req, res, next) => {
    if (Object.hasOwn(entities, req.params.entity as string)) return next();
    fail(res, 404, "NOT_FOUND", `this app serves no entity "${req.params.entity as string}"; it serves ${Object.keys(entities).join(", ")}`);
  });

  router.get("/sync/:entity/changes", async (req, res) => {
    const limitText = req.query.limit;
    const limit = limitText === undefined ? DEFAULT_LIMIT : typeof limitText === "string" && /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) return fail(res, 400, "BAD_REQUEST", `limit must be an integer from 1 to ${MAX_LIMIT}`);
    const cursor = req.query.cursor;
    const after = cursor === undefined || cursor === "" ? 0 : typeof cursor === "string" ? decodeCursor(cursor) : undefined;
    if (after === undefined) return fail(res, 400, "BAD_REQUEST", "cursor is not a cursor this API issued");
    const page = await store.changes(param(req, "entity"), after, limit);
    const last = page.records.at(-1)?.seq ?? after;
    res.json({ records: page.records.map(publicRecord), nextCursor: encodeCursor(last), hasMore: page.hasMore });
  });

  router.get("/sync/:entity/:id", async (req, res) => {
    const record = await store.get(param(req, "entity"), param(req, "id"));
    if (!record) return notFound(res, req);
    res.set("etag", `"${record.version}"`).json(publicRecord(record));
  });

  router.post("/sync/:entity", async (req, res) => {
    const body = writeBody(req, res);
    if (!body) return;
    const entity = param(req, "entity");
    const problem = await validateData(entities, entity, body.data, async (e, id) => (await store.get(e, id)) !== undefined);
    if (problem) return fail(res, 422, "VALIDATION", problem);
    // Idempotent on dataverseId: a retried POST (its first answer was lost) gets its record, 200.
    const { record, created } = await store.create(entity, body.data, body.dataverseId);
    if (created) res.location(`${req.baseUrl}/sync/${encodeURIComponent(entity)}/${encodeURIComponent(record.id)}`);
    writeResult(res, created ? 201 : 200, record);
  });

  router.patch("/sync/:entity/:id", async (req, res) => {
    const body = writeBody(req, res);
    if (!body) return;
    const [entity, id] = [param(req, "entity"), param(req, "id")];
    const ifVersion = await expectedVersion(req, store);
    const current = await store.get(entity, id);
    if (!current) return notFound(res, req);
    if (ifVersion !== undefined && ifVersion !== current.version) return stale(res, req, current);
    const problem = await validateData(entities, entity, body.data, async (e, ref) => (await store.get(e, ref)) !== undefined);
    if (problem) return fail(res, 422, "VALIDATION", problem);
    const result = await store.update(entity, id, body.data, body.dataverseId, ifVersion);
    if (result === "missing") return notFound(res, req);
    if (result === "stale") return stale(res, req);
    writeResult(res, 200, result);
  });

  router.delete("/sync/:entity/:id", async (req, res) => {
    const result = await store.remove(param(req, "entity"), param(req, "id"), await expectedVersion(req, store));
    if (result === "missing") return notFound(res, req);
    if (result === "stale") return stale(res, req);
    res.status(204).end();
  });

  router.use((req, res) => fail(res, 404, "NOT_FOUND", `No route for ${req.method} ${req.path}`));
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: string }).type;
    if (type === "entity.parse.failed") return fail(res, 400, "BAD_REQUEST", "The body is not valid JSON");
    if (type === "entity.too.large") return fail(res, 413, "TOO_LARGE", "The body is over 1 MB");
    fail(res, 500, "INTERNAL", "The request could not be handled");
  });
  return router;
}

function param(req: Request, name: string): string {
  return req.params[name] as string;
}

/** The record as the API shows it: no feed position, no Dataverse id. */
function publicRecord(r: StoredRecord) {
  return { id: r.id, version: r.version, updatedAt: r.updatedAt, deleted: r.deleted, data: r.data };
}

function writeResult(res: Response, status: number, r: StoredRecord): void {
  res.status(status).set("etag", `"${r.version}"`).json({ id: r.id, version: r.version, updatedAt: r.updatedAt });
}

function writeBody(req: Request, res: Response): { data: Data; dataverseId?: string } | undefined {
  const body: unknown = req.body;
  if (!isObject(body) || !isObject(body.data)) return void fail(res, 400, "BAD_REQUEST", "The body must be a JSON object with a data object");
  if (body.dataverseId !== undefined && typeof body.dataverseId !== "string") return void fail(res, 400, "BAD_REQUEST", "dataverseId must be a string");
  return { data: body.data, dataverseId: body.dataverseId as string | undefined };
}

/**
 * The version `If-Match` asks for: undefined when absent or `*`. With several entity tags, the one
 * that is current (the store still checks it atomically), else the first.
 */
async function expectedVersion(req: Request, store: RecordStore): Promise<string | undefined> {
  const header = req.headers["if-match"];
  if (header === undefined || header.trim() === "*") return undefined;
  const tags = header.split(",").map((t) => t.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1"));
  if (tags.length === 1) return tags[0];
  const current = await store.get(param(req, "entity"), param(req, "id"));
  return tags.find((t) => t === current?.version) ?? tags[0];
}

export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString("base64url");
}

export function decodeCursor(cursor: string): number | undefined {
  const m = /^s(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return m ? Number(m[1]) : undefined;
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Hash, then compare: constant time whatever the length of the presented key. */
function authorized(header: string | undefined, keyHash: Buffer): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? "");
  return m !== null && timingSafeEqual(sha256(m[1].trim()), keyHash);
}

function unauthorized(res: Response): void {
  res.set("www-authenticate", 'Bearer realm="app-sync"');
  fail(res, 401, "UNAUTHORIZED", "A valid bearer token is required");
}

function notFound(res: Response, req: Request): void {
  fail(res, 404, "NOT_FOUND", `${param(req, "entity")} ${param(req, "id")} does not exist`);
}

function stale(res: Response, req: Request, current?: StoredRecord): void {
  fail(res, 412, "VERSION_MISMATCH", `${param(req, "entity")} ${param(req, "id")} has changed${current ? ` (version ${current.version})` : ""}`);
}

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
