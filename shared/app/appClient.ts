/**
 * The sync engine's client of the App Sync API (product.md), over the shared HTTP discipline:
 * one timeout, bounded retries of transient/throttled answers, errors classified at the edge.
 */
import { ErrorCodes, SyncError } from "../errors.js";
import { parseJson } from "../http/exactJson.js";
import { HttpClient, safeUrl, type HttpResponse } from "../http/httpClient.js";
import type { RetryPolicy } from "../http/retryPolicy.js";
import type { AppChangePage, AppClient, AppRecord, AppWriteResult, Clock, Logger } from "../ports.js";
import { classifyAppError } from "./classifyAppError.js";

export interface AppClientOptions {
  /** APP_BASE_URL; may include a path prefix such as `https://app.example.org/api/v1`. */
  baseUrl: string;
  /** APP_API_KEY, sent as `Authorization: Bearer`. */
  apiKey: string;
  fetch?: typeof fetch;
  clock?: Clock;
  policy?: RetryPolicy;
  timeoutMs?: number;
  logger?: Logger;
  random?: () => number;
  /** Page size for `changes()` when the caller gives none (default 500). */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 500;

export function createAppClient(options: AppClientOptions): AppClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const authorization = `Bearer ${options.apiKey}`;
  const http = new HttpClient({
    fetch: options.fetch,
    clock: options.clock,
    policy: options.policy,
    timeoutMs: options.timeoutMs,
    random: options.random,
    classify: classifyAppError,
    onRetry: ({ attempt, delayMs, error, req }) =>
      options.logger?.warn("App request retried", { method: req.method, url: safeUrl(req.url), attempt, delayMs, code: error.code, status: error.status }),
  });
  const url = (entity: string, id?: string) =>
    `${base}/sync/${encodeURIComponent(entity)}${id === undefined ? "" : `/${encodeURIComponent(id)}`}`;
  const headers = (extra: Record<string, string> = {}) => ({ authorization, accept: "application/json", ...extra });
  const jsonHeaders = (extra: Record<string, string> = {}) => headers({ "content-type": "application/json", ...extra });

  return {
    async *changes(entity: string, cursor?: string, limit?: number): AsyncIterable<AppChangePage> {
      let current = cursor;
      const pageSize = limit ?? options.pageSize ?? DEFAULT_PAGE_SIZE;
      for (;;) {
        const query = new URLSearchParams({ limit: String(pageSize) });
        if (current !== undefined && current !== "") query.set("cursor", current);
        const target = `${url(entity)}/changes?${query}`;
        const res = await http.send({ method: "GET", url: target, headers: headers() });
        const page = readChangePage(res, target);
        yield page;
        if (!page.hasMore) return;
        // A page that promises more but does not move the cursor would loop for ever.
        if (page.nextCursor === current && page.records.length === 0) {
          throw new SyncError("permanent", ErrorCodes.BadRequest, `GET ${safeUrl(target)} answered hasMore without advancing the cursor`);
        }
        current = page.nextCursor;
      }
    },

    async get(entity: string, id: string): Promise<AppRecord | null> {
      const target = url(entity, id);
      const res = await http.send({ method: "GET", url: target, headers: headers() }, { accept: [404] });
      if (res.status === 404) return null;
      const record = readBody<AppRecord>(res, target, isAppRecord, "a record");
      return record.deleted ? null : record;
    },

    async create(entity: string, data: Record<string, unknown>, dataverseId?: string): Promise<AppWriteResult> {
      const target = url(entity);
      const body = JSON.stringify(dataverseId === undefined ? { data } : { data, dataverseId });
      // POST is idempotent only through dataverseId; without it a retry after a lost answer could
      // create a duplicate, so such a call gets one attempt and redelivery is left to the caller.
      const res = await http.send({ method: "POST", url: target, headers: jsonHeaders(), body }, { retry: dataverseId !== undefined });
      return readBody<AppWriteResult>(res, target, isWriteResult, "a write result");
    },

    async update(entity: string, id: string, data: Record<string, unknown>, opts: { ifMatch?: string; dataverseId?: string } = {}): Promise<AppWriteResult> {
      const target = url(entity, id);
      const extra: Record<string, string> = opts.ifMatch === undefined ? {} : { "if-match": quoteVersion(opts.ifMatch) };
      const body = JSON.stringify(opts.dataverseId === undefined ? { data } : { data, dataverseId: opts.dataverseId });
      const res = await http.send({ method: "PATCH", url: target, headers: jsonHeaders(extra), body });
      return readBody<AppWriteResult>(res, target, isWriteResult, "a write result");
    },

    async delete(entity: string, id: string): Promise<boolean> {
      const res = await http.send({ method: "DELETE", url: url(entity, id), headers: headers() }, { accept: [404] });
      return res.status !== 404;
    },
  };
}

/** The version is opaque; the API wants it quoted like an ETag (`*` and already quoted values pass). */
export function quoteVersion(version: string): string {
  if (version === "*" || /^(W\/)?".*"$/.test(version)) return version;
  return `"${version}"`;
}

function readChangePage(res: HttpResponse, target: string): AppChangePage {
  const page = readBody<AppChangePage>(res, target, isChangePage, "a change page");
  const bad = page.records.find((r) => !isAppRecord(r));
  if (bad) throw badBody(target, "a change page whose records all have id, version, updatedAt, deleted and data");
  return page;
}

function readBody<T>(res: HttpResponse, target: string, check: (v: unknown) => boolean, what: string): T {
  let value: unknown;
  try {
    // Exact parse: a decimal with more digits than a double holds keeps them (exactJson.ts).
    value = parseJson(res.text);
  } catch {
    throw badBody(target, what);
  }
  if (!check(value)) throw badBody(target, what);
  return value as T;
}

function badBody(target: string, what: string): SyncError {
  return new SyncError("permanent", ErrorCodes.BadRequest, `The app answered ${safeUrl(target)} with a body that is not ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function isAppRecord(v: unknown): boolean {
  return isObject(v) && typeof v.id === "string" && typeof v.version === "string" && typeof v.updatedAt === "string" &&
    typeof v.deleted === "boolean" && (v.data === null || isObject(v.data));
}

function isWriteResult(v: unknown): boolean {
  return isObject(v) && typeof v.id === "string" && typeof v.version === "string" && typeof v.updatedAt === "string";
}

function isChangePage(v: unknown): boolean {
  return isObject(v) && Array.isArray(v.records) && typeof v.nextCursor === "string" && typeof v.hasMore === "boolean";
}
