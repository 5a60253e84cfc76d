import { AsyncLocalStorage } from "node:async_hooks";
import { ErrorCodes, SyncError, isSyncError } from "../errors.js";
import { systemClock } from "../http/clock.js";
import { parseJson } from "../http/exactJson.js";
import { HttpClient, type AttemptGate, type HttpRequest, type HttpResponse, type SendOptions } from "../http/httpClient.js";
import type { HttpBounds } from "../http/httpBounds.js";
import type { ExchangeHead } from "../http/exchange.js";
import { parseRetryAfter } from "../http/retryAfter.js";
import type { RetryPolicy } from "../http/retryPolicy.js";
import { Settings } from "../names.js";
import type { Clock, Logger } from "../ports.js";
import { classifyDataverseError } from "./classifyDataverseError.js";
import type { RequestCost } from "../throttle/costEstimator.js";
import type { SettleOptions } from "../throttle/throttleBudget.js";
import { ConcurrencyLimiter } from "./concurrencyLimiter.js";

export type { RequestCost };

/** An admitted attempt: told what it took (real ms) once it is answered. */
export interface RequestReservation {
  /**
   * What the answer said: its `x-ms-ratelimit-*` monitoring headers (the answering server's requests
   * and execution ms left) and which server it was (its `ARRAffinity` cookie).
   */
  settle(observedMs: number, options?: SettleOptions): Promise<void>;
}

/** A request budget shared with other processes (shared/throttle ThrottleBudget satisfies it). */
export interface RequestBudget {
  /** Waits until an attempt of this cost may go; the reservation (if any) is settled with its duration. */
  acquire(cost?: RequestCost): Promise<RequestReservation | void>;
  penalize(retryAfterMs: number): Promise<void>;
  /**
   * Requests the identity's web servers execute at once at full speed, as far as the budget knows
   * (Dataverse: 1,200 s of execution per 300 s, four per server, times the servers learned).
   */
  executionsAtOnce?(): number;
  /**
   * Whether a cheap request now would likely show a web server not seen yet (the transport then
   * sends `WhoAmI`, one at a time, asking again after each answer). Each yes counts as one.
   */
  probe?(): boolean;
}

/** The cost of the call being sent, visible to the fetch decorator of each of its attempts. */
const callCost = new AsyncLocalStorage<RequestCost>();
/** The budget reservation of the attempt in progress (taken by the gate, settled by the fetch). */
const attemptReservation = new AsyncLocalStorage<RequestReservation | void>();

export interface DataverseTransportOptions {
  instanceUrl: string;
  /** `invalidate`, when present, is called on a 401 before the one retry with a fresh token. */
  tokens: { getToken(): Promise<string>; invalidate?(): void };
  fetch?: typeof fetch;
  clock?: Clock;
  policy?: RetryPolicy;
  /** Shorthand for `bounds.firstByteTimeoutMs`. */
  timeoutMs?: number;
  /** Connect, first byte, body, total, Retry-After and size bounds of every call (options.http). */
  bounds?: Partial<HttpBounds>;
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
  /** For the budget's execution-time estimate; default a read for GET, else a single write. */
  cost?: RequestCost;
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
  /** The product's clock: Retry-After dates in `$batch` parts are measured against it too. */
  readonly clock: Clock;
  private readonly http: HttpClient;
  private readonly origin: string;
  private readonly tokens: DataverseTransportOptions["tokens"];
  private readonly counters = { requests: 0, throttled: 0, waitedMs: 0 };
  private readonly budget?: RequestBudget;
  /** A search for the identity's web servers (`explore`) is under way. */
  private exploring = false;

  constructor(options: DataverseTransportOptions) {
    this.serviceRoot = serviceRootOf(options.instanceUrl);
    this.origin = new URL(this.serviceRoot).origin;
    this.logger = options.logger;
    this.tokens = options.tokens;
    this.limiter = new ConcurrencyLimiter({ max: options.maxConcurrency });
    // Around every exchange on the wire: each attempt is counted and feeds the limiter (429s and the dop hint).
    const budget = (this.budget = options.budget);
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    const metered = async (exchange: () => Promise<ExchangeHead>): Promise<ExchangeHead> => {
      const reservation = attemptReservation.getStore();
      this.counters.requests++;
      const started = clock.now();
      let res: ExchangeHead;
      try {
        res = await exchange();
      } catch (e) {
        await this.settle(reservation, clock.now() - started, false);
        throw e;
      }
      // The duration to the response headers bounds the server's execution time from above.
      const elapsedMs = clock.now() - started;
      if (res.status === 429) {
        this.counters.throttled++;
        // Refused before it ran: nothing was executed, so the whole reservation goes back.
        await this.settle(reservation, 0, false, { refused: true });
        if (budget) await budget.penalize(Math.min(retryAfterMsOf(res.headers, clock.now()), this.http.bounds.maxRetryAfterMs));
      } else {
        // Not awaited: the budget's write to the shared row (a Table round trip, seconds on a loaded
        // store) must not hold the answer back. Small corrections apply in this process at once;
        // larger ones reach the row with the next batched write, so a lease taken meanwhile may not
        // see a debt yet. The cost is at most a 429 that is retried after Retry-After, never a write lost.
        void this.settle(reservation, elapsedMs, res.status < 500, { ...rateLimitHeadersOf(res.headers), ...answeringServerOf(res.headers) });
      }
      this.limiter.observe(res.status, res.headers.get("x-ms-dop-hint"));
      return res;
    };
    // The budget is part of the gate, so an attempt's timeout starts once the budget admits it:
    // waiting for the window is not the server being slow (counted in the timeout, a long wait
    // looked like a bulk call timing out, and the bulk size was halved down to its minimum).
    const gate: AttemptGate = budget
      ? { run: (attempt) => this.limiter.run(async () => attemptReservation.run(await budget.acquire(callCost.getStore() ?? costOf(undefined)), attempt)) }
      : this.limiter;
    this.http = new HttpClient({
      fetch: options.fetch,
      around: metered,
      clock: options.clock,
      policy: options.policy,
      timeoutMs: options.timeoutMs,
      bounds: options.bounds,
      setting: Settings.dynamicsInstanceUrl,
      random: options.random,
      gate,
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
    const cost = call.cost ?? costOf(call.method);
    this.explore();
    try {
      return exactJson(await callCost.run(cost, () => this.http.send(req, options)));
    } catch (e) {
      // A token can be revoked or rotated before it expires: fetch a fresh one and try once more.
      if (!(isSyncError(e) && e.status === 401 && this.tokens.invalidate)) throw e;
      this.tokens.invalidate();
      return exactJson(await callCost.run(cost, () => this.http.send(req, options)));
    }
  }

  /**
   * Beside the call being sent, while the budget asks for it (`RequestBudget.probe`): `WhoAmI`
   * requests, one at a time, whose answers name the web servers they reached, so that the budget
   * knows the identity's servers before the load's first long calls are answered. Not awaited; a
   * probe that fails ends the search (the answers' counters find the servers as before).
   */
  private explore(): void {
    const budget = this.budget;
    if (this.exploring || !budget?.probe) return;
    const wanted = budget.probe.bind(budget);
    this.exploring = true;
    void (async () => {
      try {
        while (wanted()) await this.send({ method: "GET", path: "WhoAmI" });
      } catch (e) {
        this.logger?.debug("Dataverse server probe failed", { error: (e as Error)?.message });
      } finally {
        this.exploring = false;
      }
    })();
  }

  /** What the budget says the servers execute at once (1 without a budget that knows). */
  executionsAtOnce(): number {
    return Math.max(1, this.budget?.executionsAtOnce?.() ?? 1);
  }

  /** A budget that cannot record a correction must not fail the request it was about. */
  private async settle(reservation: RequestReservation | void | undefined, observedMs: number, learn: boolean, remaining?: Omit<SettleOptions, "learn">): Promise<void> {
    if (!reservation) return;
    try {
      await reservation.settle(observedMs, { learn, ...remaining });
    } catch (e) {
      this.logger?.warn("Could not record a request's execution time in the throttle budget", { error: (e as Error)?.message });
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

/**
 * Every Dataverse answer is read with the exact parse: decimal and money columns hold up to 21
 * significant digits (decimal precision 10), more than a double keeps (see exactJson.ts).
 */
function exactJson(res: HttpResponse): HttpResponse {
  return { ...res, json: <T>() => parseJson<T>(res.text) };
}

function costOf(method: string | undefined): RequestCost {
  return { kind: (method ?? "GET").toUpperCase() === "GET" ? "read" : "write" };
}

/**
 * The wait a 429 asks for, in the clock's ms: Retry-After as seconds or a date, bounded by
 * parseRetryAfter; 1 s when absent or unparsable. The caller caps it at the longest wait a call
 * may make, so a bogus header cannot stall the shared budget.
 */
function retryAfterMsOf(headers: Headers, now: number): number {
  return parseRetryAfter(headers.get("retry-after"), now) || 1000;
}

/**
 * The monitoring headers (dataverse-web-api.md §6): requests left on the answering server, and its
 * combined execution time left, read as milliseconds (digits with optional thousands separators and
 * decimals; the format is not documented, ⚠ assumed). Absent or unreadable: undefined.
 */
function rateLimitHeadersOf(headers: Headers): { burstRemaining?: number; timeRemainingMs?: number } {
  const number = (name: string) => {
    const value = headers.get(name)?.trim().replace(/,/g, "");
    return value && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
  };
  const burstRemaining = number("x-ms-ratelimit-burst-remaining-xrm-requests");
  const timeRemainingMs = number("x-ms-ratelimit-time-remaining-xrm-requests");
  return { ...(burstRemaining === undefined ? {} : { burstRemaining: Math.floor(burstRemaining) }), ...(timeRemainingMs === undefined ? {} : { timeRemainingMs }) };
}

/**
 * Which web server answered, from the service's `ARRAffinity` cookie (Set-Cookie; PAR): the value
 * names the server. The cookie is never sent back (affinity stays off, so requests spread); the
 * budget only counts how many servers its answers came from. Absent: undefined.
 */
function answeringServerOf(headers: Headers): { server?: string } {
  for (const cookie of headers.getSetCookie?.() ?? []) {
    const match = /^ARRAffinity=([^;]+)/.exec(cookie.trim());
    if (match) return { server: match[1] };
  }
  return {};
}
