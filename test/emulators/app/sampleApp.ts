/**
 * A sample application exposing the App Sync API (product.md) on 127.0.0.1, for tests, the local
 * stack and as a reference implementation for app teams.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AppWriteResult } from "../../../shared/ports.js";
import { parseJson } from "../../../shared/http/exactJson.js";
import { AppStore, exactClone, type StoredRecord } from "./appStore.js";
import { FaultPlan, type FaultRule } from "./faults.js";
import { WriteLimiter, type AppRateLimit } from "./rateLimit.js";
import { Notifier, type NoticeRecord, type NotifyTarget } from "./notifier.js";
import { demoSeed, type SeedData } from "./seed.js";
import { errorBody, handleSyncRequest, type RouteResponse } from "./syncRoutes.js";

export interface SampleAppOptions {
  apiKey: string;
  port?: number;
  /** Path prefix such as `/v1`; part of `baseUrl`. */
  basePath?: string;
  /** `true` for the demo seed, or your own records; nothing by default. */
  seed?: boolean | SeedData;
  now?: () => number;
  /** Push signed change notices for app-side edits (put/patch/remove) to the sync's /api/webhooks/app. */
  notify?: NotifyTarget;
  /** Serve only these entities (the app entities of a mapping file); any entity when absent. */
  entities?: string[];
  /** Answer writes over this rate with 429 and Retry-After (off when absent). */
  rateLimit?: AppRateLimit;
}

export interface LoggedRequest {
  method: string;
  /** Path after the base path, with the query string. */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON (exact numbers kept) when the body is JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
  /** The body exactly as received, undefined when empty. */
  rawBody?: string;
  status: number;
  /** When the request arrived (the app's clock, ms). */
  at: number;
}

export interface SampleApp {
  /** `http://127.0.0.1:<port><basePath>`: use as APP_BASE_URL. */
  readonly baseUrl: string;
  /** Live records (tombstones with `includeDeleted`). */
  list(entity: string, options?: { includeDeleted?: boolean }): StoredRecord[];
  /** The stored record, a tombstone included; undefined when never written. */
  get(entity: string, id: string): StoredRecord | undefined;
  /** App-side edits (no validation, so tests can plant values the mapping cannot map); they enter the change feed. */
  put(entity: string, id: string, data: Record<string, unknown>): AppWriteResult;
  patch(entity: string, id: string, data: Record<string, unknown>): AppWriteResult | undefined;
  remove(entity: string, id: string): boolean;
  /** Test-only: changes a record behind the app's back (no feed entry, no notice, same version); false when not live. */
  patchOutsideFeed(entity: string, id: string, data: Record<string, unknown>): boolean;
  /** Starts, changes or (undefined) stops the change notices of app-side edits. */
  setNotify(target: NotifyTarget | undefined): void;
  /** Notices sent so far and their answers; `notifyIdle()` waits for those in flight. */
  readonly notices: NoticeRecord[];
  notifyIdle(): Promise<void>;
  readonly requests: LoggedRequest[];
  failNext(rule: FaultRule): void;
  clearFaults(): void;
  /** Starts, changes or (undefined) stops the write rate limit. */
  setRateLimit(limit: AppRateLimit | undefined): void;
  /** Writes refused with 429 by the rate limit so far. */
  readonly rateLimited: number;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1_048_576;

export async function startSampleApp(options: SampleAppOptions): Promise<SampleApp> {
  const basePath = normalizeBasePath(options.basePath);
  const store = new AppStore(options.now ?? Date.now);
  const faults = new FaultPlan();
  const limiter = new WriteLimiter(options.rateLimit, options.now ?? Date.now);
  const requests: LoggedRequest[] = [];
  const keyHash = sha256(options.apiKey);
  const seed = options.seed === true ? demoSeed : options.seed || {};
  const served = options.entities ? new Set(options.entities) : undefined;
  for (const [entity, records] of Object.entries(seed)) {
    for (const r of records) store.put(entity, r.id, r.data, r.dataverseId, r.updatedAt);
  }

  // Only the app's own edits are announced: writes through the Sync API come from the sync itself.
  const notifier = new Notifier(options.notify, options.now ?? Date.now);
  const notified = <T>(entity: string, id: string, result: T): T => {
    if (result) notifier.notify(entity, [id]);
    return result;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const raw = await readBody(req);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v ?? ""]));
    const method = req.method ?? "GET";
    const inside = url.pathname === basePath || url.pathname.startsWith(`${basePath}/`) || basePath === "";
    const path = inside ? url.pathname.slice(basePath.length) || "/" : url.pathname;
    const entry: LoggedRequest = { method, path: path + url.search, headers: redact(headers), body: parseLogged(raw), rawBody: raw || undefined, status: 0, at: (options.now ?? Date.now)() };
    requests.push(entry);
    const send = (r: RouteResponse) => {
      entry.status = r.status;
      writeResponse(res, r);
    };

    if (raw === undefined) return send({ status: 413, body: errorBody("TOO_LARGE", `The body exceeds ${MAX_BODY_BYTES} bytes`) });
    if (!inside) return send({ status: 404, body: errorBody("NOT_FOUND", `No route for ${method} ${url.pathname}`) });
    if (!authorized(headers.authorization, keyHash)) {
      return send({ status: 401, headers: { "www-authenticate": 'Bearer realm="app-sync"' }, body: errorBody("UNAUTHORIZED", "A valid bearer token is required") });
    }
    const entity = /^\/sync\/([^/]+)/.exec(path)?.[1];
    if (served && entity !== undefined && !served.has(safeDecode(entity))) {
      return send({ status: 404, body: errorBody("NOT_FOUND", `This app serves no entity ${safeDecode(entity)}; it serves ${[...served].join(", ")}`) });
    }
    const retryAfter = limiter.take(method, path);
    if (retryAfter !== undefined) {
      return send({ status: 429, headers: { "retry-after": String(retryAfter) }, body: errorBody("RATE_LIMITED", "Too many writes; retry after the Retry-After seconds") });
    }
    const fault = faults.take(method, path);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    const routed = () => handleSyncRequest(store, { method, path, query: url.searchParams, headers, rawBody: raw });
    if (!fault) return send(routed());
    if (fault.afterHandling) routed();
    if (fault.dropConnection) {
      entry.status = -1;
      return void res.socket?.destroy();
    }
    if (fault.status) {
      return send({ status: fault.status, headers: fault.headers, body: fault.body ?? errorBody("FAULT", `Scripted fault ${fault.status}`) });
    }
    send(routed());
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.destroy();
      writeResponse(res, { status: 500, body: errorBody("INTERNAL", e instanceof Error ? e.message : String(e)) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}${basePath}`,
    list: (entity, opts) => store.list(entity, opts),
    get: (entity, id) => {
      const r = store.find(entity, id);
      return r && exactClone(r);
    },
    put: (entity, id, data) => notified(entity, id, store.put(entity, id, data)),
    patch: (entity, id, data) => notified(entity, id, store.patch(entity, id, data)),
    remove: (entity, id) => notified(entity, id, store.remove(entity, id)),
    patchOutsideFeed: (entity, id, data) => store.patchOutsideFeed(entity, id, data),
    setNotify: (target) => notifier.set(target),
    notices: notifier.sent,
    notifyIdle: () => notifier.idle(),
    requests,
    failNext: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    setRateLimit: (limit) => limiter.set(limit),
    get rateLimited() {
      return limiter.refused;
    },
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function normalizeBasePath(basePath: string | undefined): string {
  if (!basePath || basePath === "/") return "";
  return `/${basePath.replace(/^\/+|\/+$/g, "")}`;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Hash-then-compare: constant time whatever the length of the presented key. */
function authorized(header: string | undefined, keyHash: Buffer): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? "");
  return m !== null && timingSafeEqual(sha256(m[1].trim()), keyHash);
}

function redact(headers: Record<string, string>): Record<string, string> {
  return headers.authorization ? { ...headers, authorization: headers.authorization.replace(/^(\w+) .*/, "$1 ***") } : headers;
}

function parseLogged(raw: string | undefined): unknown {
  if (!raw) return undefined;
  try {
    return parseJson(raw);
  } catch {
    return raw;
  }
}

/** The body as text, or undefined when it is over the limit. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString("utf8");
}

function writeResponse(res: ServerResponse, r: RouteResponse): void {
  if (r.body === undefined) {
    res.writeHead(r.status, r.headers);
    return void res.end();
  }
  const text = JSON.stringify(r.body);
  res.writeHead(r.status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...r.headers });
  res.end(text);
}
