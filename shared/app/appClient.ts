/**
 * The sync engine's client of the App Sync API (product.md), over the shared HTTP discipline:
 * one timeout, bounded retries of transient/throttled answers, errors classified at the edge.
 */
import { ErrorCodes, SyncError } from "../errors.js";
import { parseJson } from "../http/exactJson.js";
import { FeedGuard, shown, type FeedLimits } from "../http/feedGuard.js";
import { systemClock } from "../http/clock.js";
import { HttpClient, safeUrl, type HttpClientOptions, type HttpResponse } from "../http/httpClient.js";
import type { HttpBounds } from "../http/httpBounds.js";
import type { RetryPolicy } from "../http/retryPolicy.js";
import { Settings } from "../names.js";
import type { AppChangePage, AppClient, AppRecord, AppWriteResult, Clock, Logger } from "../ports.js";
import { AppWritePacer } from "./appWritePacer.js";
import { classifyAppError } from "./classifyAppError.js";

export interface AppClientOptions {
  /** APP_BASE_URL; may include a path prefix such as `https://app.example.org/api/v1`. */
  baseUrl: string;
  /** APP_API_KEY, sent as `Authorization: Bearer`. */
  apiKey: string;
  fetch?: typeof fetch;
  /** Sent on every call besides the key (a registered tenant's X-Sync-Tenant). */
  headers?: Record<string, string>;
  clock?: Clock;
  policy?: RetryPolicy;
  timeoutMs?: number;
  /** Connect, first byte, body, total, Retry-After and size bounds of every call (options.http). */
  bounds?: Partial<HttpBounds>;
  logger?: Logger;
  random?: () => number;
  /** Page size for `changes()` when the caller gives none (default 500). */
  pageSize?: number;
  /** Bounds of one read of a change feed (the mapping file's options.feeds). */
  feedLimits?: FeedLimits;
  /** Paces the writes (POST, PATCH, DELETE) after the app's 429s; default: one of its own on `clock`. */
  pacer?: AppWritePacer;
}

const DEFAULT_PAGE_SIZE = 500;

export function createAppClient(options: AppClientOptions): AppClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const authorization = `Bearer ${options.apiKey}`;
  const httpOptions: HttpClientOptions = {
    fetch: options.fetch,
    clock: options.clock,
    policy: options.policy,
    timeoutMs: options.timeoutMs,
    bounds: options.bounds,
    setting: Settings.appBaseUrl,
    random: options.random,
    classify: classifyAppError,
    onRetry: ({ attempt, delayMs, error, req }) =>
      options.logger?.warn("App request retried", { method: req.method, url: safeUrl(req.url), attempt, delayMs, code: error.code, status: error.status }),
  };
  const http = new HttpClient(httpOptions);
  // Writes go through the pacer: a 429 holds all of them for its Retry-After and sets their pace.
  const writes = new HttpClient({ ...httpOptions, gate: options.pacer ?? new AppWritePacer(options.clock ?? systemClock) });
  const url = (entity: string, id?: string) =>
    `${base}/sync/${encodeURIComponent(entity)}${id === undefined ? "" : `/${encodeURIComponent(id)}`}`;
  const headers = (extra: Record<string, string> = {}) => ({ ...options.headers, authorization, accept: "application/json", ...extra });
  const jsonHeaders = (extra: Record<string, string> = {}) => headers({ "content-type": "application/json", ...extra });

  return {
    async *changes(entity: string, cursor?: string, limit?: number): AsyncIterable<AppChangePage> {
      let current = cursor;
      const pageSize = limit ?? options.pageSize ?? DEFAULT_PAGE_SIZE;
      const guard = new FeedGuard(`the app's change feed for ${JSON.stringify(entity)}`, options.feedLimits, cursor);
      for (;;) {
        const query = new URLSearchParams({ limit: String(pageSize) });
        if (current !== undefined && current !== "") query.set("cursor", current);
        const target = `${url(entity)}/changes?${query}`;
        const res = await http.send({ method: "GET", url: target, headers: headers() });
        const page = readChangePage(res, target, entity, current);
        // The contract allows at most `limit` records a page; a page past its bounds is not handed on.
        guard.page(page.records.length, Buffer.byteLength(res.text), pageSize);
        // A cursor that comes back (or an empty one, which restarts the feed) would loop for ever.
        if (page.hasMore) guard.next(page.nextCursor, `cursor ${shown(page.nextCursor)}`);
        yield page;
        if (!page.hasMore) return;
        current = page.nextCursor;
      }
    },

    async get(entity: string, id: string): Promise<AppRecord | null> {
      const target = url(entity, id);
      const res = await http.send({ method: "GET", url: target, headers: headers() }, { accept: [404] });
      if (res.status === 404) return null;
      const value = readBody<Record<string, unknown>>(res, target, isObject, "a record");
      const record = checkedRecord(value, `${entity} record ${JSON.stringify(id)} (GET ${safeUrl(target)})`);
      if (!record.problem && record.id !== id) record.problem = `the app answered with the record ${JSON.stringify(record.id)} instead`;
      if (record.problem) return { ...record, id, data: null, deleted: false, problem: `${entity} record ${JSON.stringify(id)}: ${record.problem}` };
      return record.deleted ? null : record;
    },

    async create(entity: string, data: Record<string, unknown>, dataverseId?: string): Promise<AppWriteResult> {
      const target = url(entity);
      const body = JSON.stringify(dataverseId === undefined ? { data } : { data, dataverseId });
      // POST is idempotent only through dataverseId; without it a retry after a lost answer could
      // create a duplicate, so such a call gets one attempt and redelivery is left to the caller.
      const res = await writes.send({ method: "POST", url: target, headers: jsonHeaders(), body }, { retry: dataverseId !== undefined });
      return readWriteResult(res, target, `POST of a new ${entity} record${dataverseId === undefined ? "" : ` for Dataverse row ${dataverseId}`}`);
    },

    async update(entity: string, id: string, data: Record<string, unknown>, opts: { ifMatch?: string; dataverseId?: string } = {}): Promise<AppWriteResult> {
      const target = url(entity, id);
      const extra: Record<string, string> = opts.ifMatch === undefined ? {} : { "if-match": quoteVersion(opts.ifMatch) };
      const body = JSON.stringify(opts.dataverseId === undefined ? { data } : { data, dataverseId: opts.dataverseId });
      const res = await writes.send({ method: "PATCH", url: target, headers: jsonHeaders(extra), body });
      return readWriteResult(res, target, `PATCH of ${entity} record ${JSON.stringify(id)}`);
    },

    async delete(entity: string, id: string): Promise<boolean> {
      const res = await writes.send({ method: "DELETE", url: url(entity, id), headers: headers() }, { accept: [404] });
      return res.status !== 404;
    },
  };
}

/** The version is opaque; the API wants it quoted like an ETag (`*` and already quoted values pass). */
export function quoteVersion(version: string): string {
  if (version === "*" || /^(W\/)?".*"$/.test(version)) return version;
  return `"${version}"`;
}

/**
 * A change page. The page itself must have the contract's shape (else the whole read fails); each
 * record is checked on its own, so one bad record fails alone (see AppRecord.problem) instead of the
 * entity's whole read.
 */
function readChangePage(res: HttpResponse, target: string, entity: string, cursor: string | undefined): AppChangePage {
  const page = readBody<{ records: unknown[]; nextCursor: string; hasMore: boolean }>(res, target, isChangePage, "a change page ({records: [...], nextCursor: string, hasMore: boolean})");
  const after = cursor === undefined || cursor === "" ? "the first page" : `the page after cursor ${shown(cursor)}`;
  const records = page.records.map((r, i) => checkedRecord(r, `${entity} record ${i + 1} of ${page.records.length} on ${after}`));
  return { records, nextCursor: page.nextCursor, hasMore: page.hasMore };
}

/**
 * A record as the contract allows it, or one marked with its `problem` (data null, never written).
 * A record without a usable id gets a stand-in id that names its position, so it can be reported.
 */
function checkedRecord(value: unknown, where: string): AppRecord {
  if (!isObject(value)) return invalid(`no-id-${where}`, `${where} is not an object`);
  const idOk = typeof value.id === "string" && value.id !== "";
  const id = idOk ? (value.id as string) : `no-id-${where}`;
  const named = idOk ? `${where} (id ${JSON.stringify(value.id)})` : where;
  const problems: string[] = [];
  if (!idOk) problems.push(`has no id (${describe(value.id)})`);
  if (typeof value.version !== "string" || value.version === "") problems.push(`has no version (${describe(value.version)})`);
  if (typeof value.deleted !== "boolean") problems.push(`has no boolean "deleted" (${describe(value.deleted)})`);
  if (value.deleted === false && !isObject(value.data)) problems.push(`is live but its data is ${describe(value.data)}, not an object`);
  if (value.deleted === true && value.data !== null && value.data !== undefined && !isObject(value.data)) problems.push(`has data ${describe(value.data)}`);
  if (value.updatedAt !== undefined && typeof value.updatedAt !== "string") problems.push(`has updatedAt ${describe(value.updatedAt)}, not a string`);
  if (problems.length) return invalid(id, `${named} ${problems.join(", ")}`);
  return {
    id, version: value.version as string, updatedAt: (value.updatedAt as string | undefined) ?? "", deleted: value.deleted as boolean,
    data: value.deleted ? null : (value.data as Record<string, unknown>),
  };
}

function invalid(id: string, problem: string): AppRecord {
  return { id, version: "", updatedAt: "", deleted: false, data: null, problem: `${problem}; the record is not synced until the app sends it whole` };
}

/**
 * The answer to a POST or PATCH: a non-empty id (the record's own for a PATCH) and a version. Anything
 * else fails the record as UNEXPECTED_RESPONSE: an empty id must never be written to the key column.
 */
function readWriteResult(res: HttpResponse, target: string, what: string): AppWriteResult {
  const body = readBody<Record<string, unknown>>(res, target, isObject, "a write result ({id, version, updatedAt})");
  const problems: string[] = [];
  if (typeof body.id !== "string" || body.id === "") problems.push(`id ${describe(body.id)}`);
  if (typeof body.version !== "string" || body.version === "") problems.push(`version ${describe(body.version)}`);
  if (body.updatedAt !== undefined && typeof body.updatedAt !== "string") problems.push(`updatedAt ${describe(body.updatedAt)}`);
  if (problems.length) {
    throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: the app answered the ${what} (${res.status}) with ${problems.join(", ")}; ` +
      "nothing was taken from that answer, and the record stays pending", { status: res.status });
  }
  return { id: body.id as string, version: body.version as string, updatedAt: (body.updatedAt as string | undefined) ?? "" };
}

function readBody<T>(res: HttpResponse, target: string, check: (v: unknown) => boolean, what: string): T {
  let value: unknown;
  try {
    // Exact parse: a decimal with more digits than a double holds keeps them (exactJson.ts).
    value = parseJson(res.text);
  } catch {
    throw badBody(target, what, res.status);
  }
  if (!check(value)) throw badBody(target, what, res.status);
  return value as T;
}

function badBody(target: string, what: string, status: number): SyncError {
  return new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: the app answered ${safeUrl(target)} (${status}) with a body that is not ${what}`, { status });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A value as messages show it: its JSON, short (record data is not echoed whole). */
function describe(v: unknown): string {
  if (v === undefined) return "missing";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function isChangePage(v: unknown): boolean {
  return isObject(v) && Array.isArray(v.records) && typeof v.nextCursor === "string" && typeof v.hasMore === "boolean";
}
