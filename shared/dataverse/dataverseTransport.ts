import { ErrorCodes, SyncError, isSyncError } from "../errors.js";
import { HttpClient, type HttpRequest, type HttpResponse, type SendOptions } from "../http/httpClient.js";
import type { RetryPolicy } from "../http/retryPolicy.js";
import type { Clock, Logger } from "../ports.js";
import { classifyDataverseError } from "./classifyDataverseError.js";
import { ConcurrencyLimiter } from "./concurrencyLimiter.js";

/** A request budget shared with other processes (shared/throttle ThrottleBudget satisfies it). */
export interface RequestBudget {
  acquire(): Promise<void>;
  penalize(retryAfterMs: number): Promise<void>;
}

export interface DataverseTransportOptions {
  instanceUrl: string;
  /** `invalidate`, when present, is called on a 401 before the one retry with a fresh token. */
  tokens: { getToken(): Promise<string>; invalidate?(): void };
  fetch?: typeof fetch;
  clock?: Clock;
  policy?: RetryPolicy;
  timeoutMs?: number;
  logger?: Logger;
  /** Upper bound on parallel requests (default and maximum 52). */
  maxConcurrency?: number;
  random?: () => number;
  /** Optional per-identity budget shared across processes: asked before every attempt, told of every 429. */
  budget?: RequestBudget;
  /** Told of every 429 before its retry (telemetry). */
  onThrottled?: (info: { retryAfterMs: number; code?: string }) => void;
}

export interface DataverseStats {
  /** HTTP attempts sent (retries included). */
  requests: number;
  /** 429 responses received. */
  throttled: number;
  /** Time spent sleeping before retries. */
  waitedMs: number;
  /** The limiter's current concurrency. */
  concurrency: number;
}

export interface DataverseCall {
  method: string;
  /** Relative to the service root (`contacts(…)`) or an absolute link the server gave us. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** `<instance>/api/data/v9.2/`; plain http only for loopback (the emulator). */
export function serviceRootOf(instanceUrl: string): string {
  let url: URL;
  try {
    url = new URL(instanceUrl);
  } catch {
    throw new SyncError("validation", ErrorCodes.InvalidSetting, `Dataverse instance URL is not a URL: ${JSON.stringify(instanceUrl)}`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackHosts.has(url.hostname))) {
    throw new SyncError("validation", ErrorCodes.InvalidSetting, `Dataverse instance URL must use https:// (http:// only for loopback hosts): ${url.origin}`);
  }
  return `${url.origin}/api/data/v9.2/`;
}

/** Standard headers, bearer token, limiter, stats; one HttpClient for every Dataverse call. */
export class DataverseTransport {
  readonly serviceRoot: string;
  readonly limiter: ConcurrencyLimiter;
  readonly logger?: Logger;
  private readonly http: HttpClient;
  private readonly origin: string;
  private readonly tokens: DataverseTransportOptions["tokens"];
  private readonly counters = { requests: 0, throttled: 0, waitedMs: 0 };

  constructor(options: DataverseTransportOptions) {
    this.serviceRoot = serviceRootOf(options.instanceUrl);
    this.origin = new URL(this.serviceRoot).origin;
    this.logger = options.logger;
    this.tokens = options.tokens;
    this.limiter = new ConcurrencyLimiter({ max: options.maxConcurrency });
    const baseFetch = options.fetch ?? globalThis.fetch;
    // A fetch decorator: every attempt is counted and feeds the limiter (429s and the dop hint).
    const budget = options.budget;
    const observedFetch: typeof fetch = async (input, init) => {
      if (budget) await budget.acquire();
      this.counters.requests++;
      const res = await baseFetch(input, init);
      if (res.status === 429) {
        this.counters.throttled++;
        if (budget) await budget.penalize(realRetryAfterMs(res.headers));
      }
      this.limiter.observe(res.status, res.headers.get("x-ms-dop-hint"));
      return res;
    };
    this.http = new HttpClient({
      fetch: observedFetch,
      clock: options.clock,
      policy: options.policy,
      timeoutMs: options.timeoutMs,
      random: options.random,
      gate: this.limiter,
      classify: classifyDataverseError,
      prepare: async (req: HttpRequest) => ({
        ...req,
        headers: { ...req.headers, Authorization: `Bearer ${await options.tokens.getToken()}` },
      }),
      onRetry: ({ attempt, delayMs, error, req }) => {
        this.counters.waitedMs += delayMs;
        this.logger?.warn("Dataverse request will be retried", { method: req.method, code: error.code, status: error.status, attempt, delayMs });
        if (error.kind === "throttled") options.onThrottled?.({ retryAfterMs: error.retryAfterMs ?? delayMs, code: error.remoteCode });
      },
    });
  }

  async send(call: DataverseCall, options?: SendOptions): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      "OData-MaxVersion": "4.0",
      "OData-Version": "4.0",
    };
    if (call.method === "GET") headers["If-None-Match"] = "null";
    if (call.body !== undefined) headers["Content-Type"] = "application/json; charset=utf-8";
    const req = { method: call.method, url: this.resolve(call.path), headers: { ...headers, ...call.headers }, body: call.body, timeoutMs: call.timeoutMs };
    try {
      return await this.http.send(req, options);
    } catch (e) {
      // A token can be revoked or rotated before it expires: fetch a fresh one and try once more.
      if (!(isSyncError(e) && e.status === 401 && this.tokens.invalidate)) throw e;
      this.tokens.invalidate();
      return this.http.send(req, options);
    }
  }

  stats(): DataverseStats {
    return { ...this.counters, concurrency: this.limiter.limit };
  }

  /** Server links (nextLink, deltaLink) are followed unchanged, but never to another host: they carry our token. */
  private resolve(path: string): string {
    if (!/^https?:\/\//i.test(path)) return this.serviceRoot + path;
    if (new URL(path).origin !== this.origin) {
      throw new SyncError("validation", ErrorCodes.BadRequest, `Refusing to follow a link to another host than ${this.origin}`);
    }
    return path;
  }
}

/** The wait a 429 asks for, in real ms (the emulator's scaled header first, else Retry-After seconds). */
function realRetryAfterMs(headers: Headers): number {
  const scaled = Number(headers.get("x-emulator-retry-after-ms"));
  if (Number.isFinite(scaled) && scaled > 0) return scaled;
  const seconds = Number(headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
}
