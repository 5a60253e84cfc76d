import { ErrorCodes, SyncError } from "../errors.js";
import type { Clock } from "../ports.js";
import { systemClock } from "./clock.js";
import { fetchExchange, undiciExchange, type Exchange, type ExchangeHead } from "./exchange.js";
import { boundsWith, MAX_TIMER_MS, type HttpBounds } from "./httpBounds.js";
import { defaultRetryPolicy, retryDelay, type RetryPolicy } from "./retryPolicy.js";
import { BoundExceeded, safeUrl, toTransportError } from "./transportError.js";

export { safeUrl };

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Text, or bytes (an F&O file or data package). */
  body?: string | Uint8Array;
  /** This request's first-byte timeout (a bulk call runs long before it answers). */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  json<T = unknown>(): T;
}

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  error: SyncError;
  req: HttpRequest;
}

/** Gates each attempt (e.g. a concurrency limiter); the timeout only starts once the gate opens. */
export interface AttemptGate {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export interface HttpClientOptions {
  /** Sends through this fetch instead of undici's `request` (tests; a wrapper that tags requests). */
  fetch?: typeof fetch;
  /**
   * Wraps each exchange on the wire, inside the gate, up to its response headers: the Dataverse
   * transport meters its requests for the throttle budget here.
   */
  around?: (exchange: () => Promise<ExchangeHead>) => Promise<ExchangeHead>;
  clock?: Clock;
  policy?: RetryPolicy;
  /** Shorthand for `bounds.firstByteTimeoutMs`. */
  timeoutMs?: number;
  /** Connect, first byte, body, total, Retry-After and size bounds; defaults in httpBounds.ts. */
  bounds?: Partial<HttpBounds>;
  /** The setting that holds the target's address (DYNAMICS_INSTANCE_URL), named when it cannot be reached. */
  setting?: string;
  random?: () => number;
  /**
   * Turn a non-2xx response into a SyncError (kind decides retry); called only for non-2xx that are
   * not `accept`ed. `now` is the clock's time, for a Retry-After given as an HTTP date.
   */
  classify: (res: HttpResponse, req: HttpRequest, now: number) => SyncError;
  /** Called before each attempt (e.g. to add a fresh Authorization header). */
  prepare?: (req: HttpRequest) => Promise<HttpRequest>;
  onRetry?: (info: RetryInfo) => void;
  gate?: AttemptGate;
  /**
   * How error messages name the endpoint. Default: the URL without its query. A client whose URL is
   * itself a secret (a chat webhook carries its token in the path) names it by its setting instead.
   */
  describe?: (req: HttpRequest) => string;
}

export interface SendOptions {
  /** Non-2xx statuses returned to the caller instead of thrown (e.g. [404, 304]). */
  accept?: number[];
  /** false: one attempt only (the caller owns the retry). Default true. */
  retry?: boolean;
  /** Per-call observer of retries, in addition to the client-wide one. */
  onRetry?: (info: RetryInfo) => void;
  /** Narrows which retryable errors this call retries (e.g. a bulk call splits on timeout instead). */
  retryIf?: (error: SyncError) => boolean;
}

/**
 * One small loop that sleeps: the retry decisions themselves are the pure `retryDelay`. Every call
 * is bounded (httpBounds.ts): each attempt by its connect, first-byte and body timeouts and its
 * size limit, the whole call by its total, and no Retry-After is waited beyond what the call may.
 */
export class HttpClient {
  private readonly exchange: Exchange;
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;
  readonly bounds: HttpBounds;

  constructor(private readonly options: HttpClientOptions) {
    this.exchange = options.fetch ? fetchExchange(options.fetch) : undiciExchange;
    this.clock = options.clock ?? systemClock;
    this.policy = options.policy ?? defaultRetryPolicy;
    this.bounds = boundsWith({ firstByteTimeoutMs: options.timeoutMs, ...options.bounds });
  }

  /** Sends with its bounds and bounded retries for transient and throttled errors. */
  async send(req: HttpRequest, options: SendOptions = {}): Promise<HttpResponse> {
    const accept = options.accept ?? [];
    const deadline = { at: this.clock.now() + this.bounds.totalTimeoutMs };
    for (let attempt = 1; ; attempt++) {
      let error: SyncError;
      let prepared = req;
      try {
        prepared = this.options.prepare ? await this.options.prepare({ ...req, headers: { ...req.headers } }) : req;
        const res = await this.attempt(prepared, deadline);
        if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
        error = this.options.classify(res, prepared, this.clock.now());
      } catch (e) {
        error = toTransportError(e, { method: prepared.method, url: prepared.url, endpoint: this.describe(prepared), setting: this.options.setting });
      }
      const allowed = options.retry !== false && (options.retryIf?.(error) ?? true);
      const delayMs = !allowed ? null : retryDelay(this.policy, attempt, error, this.options.random);
      const remainingMs = deadline.at - this.clock.now();
      // Checked even when this call does not retry: its caller would re-queue for the same wait.
      const waitTooLong = this.retryAfterTooLong(error, delayMs === null ? Number.POSITIVE_INFINITY : remainingMs, prepared);
      if (waitTooLong) throw waitTooLong;
      if (delayMs === null) throw error;
      if (delayMs >= remainingMs) throw outOfTime(error, attempt, this.bounds.totalTimeoutMs);
      const info = { attempt, delayMs, error, req: prepared };
      this.options.onRetry?.(info);
      options.onRetry?.(info);
      await this.clock.sleep(delayMs);
    }
  }

  private describe(req: HttpRequest): string {
    return this.options.describe?.(req) ?? safeUrl(req.url);
  }

  /** A throttled answer that asks for more than this call may wait fails now, still throttled. */
  private retryAfterTooLong(error: SyncError, remainingMs: number, req: HttpRequest): SyncError | undefined {
    const asked = error.retryAfterMs;
    if (error.kind !== "throttled" || asked === undefined) return undefined;
    const mayWait = Math.min(this.bounds.maxRetryAfterMs, Math.max(0, remainingMs));
    if (asked <= mayWait) return undefined;
    const limit = asked > this.bounds.maxRetryAfterMs
      ? `options.http.maxRetryAfterMs (${Math.floor(this.bounds.maxRetryAfterMs / 1000)} s)`
      : `the ${Math.floor(mayWait / 1000)} s left of the call's total bound (options.http.totalTimeoutMs)`;
    return new SyncError("throttled", ErrorCodes.RetryAfterTooLong,
      `${req.method} ${this.describe(req)} was throttled and asked to wait ${Math.ceil(asked / 1000)} s (Retry-After), longer than ${limit}; not waiting: the call fails as throttled and its records stay pending (${error.message})`,
      // Not retryable: a writer that re-queued it for `asked` would hold the run as long (a day, for a
      // bogus date); the record goes pending instead, and later runs retry it with their back-off.
      { cause: error, status: error.status, retryAfterMs: asked, remoteCode: error.remoteCode, retryable: false, details: { retryAfterMs: asked, mayWaitMs: mayWait } });
  }

  /**
   * One attempt under its timers: the first-byte timer runs until the headers arrive, then the
   * body timer until the last byte; neither outlives the call's deadline. Connecting is bounded by
   * the dispatcher. Timers are real time (they bound sockets); the deadline is the clock's. Time
   * spent waiting at the gate (the concurrency limit, the shared throttle budget) is our own pacing,
   * not the peer being slow, so it moves the deadline on.
   */
  private async attempt(req: HttpRequest, deadline: { at: number }): Promise<HttpResponse> {
    const queued = this.clock.now();
    const run = async (): Promise<HttpResponse> => {
      deadline.at += this.clock.now() - queued;
      const controller = new AbortController();
      let timer = this.arm(controller, "first-byte", req.timeoutMs ?? this.bounds.firstByteTimeoutMs, deadline);
      try {
        const send = () => this.exchange({ method: req.method, url: req.url, headers: req.headers, body: req.body, signal: controller.signal, connectTimeoutMs: this.bounds.connectTimeoutMs });
        const res = await (this.options.around ? this.options.around(send) : send());
        clearTimeout(timer);
        timer = this.arm(controller, "body", this.bounds.bodyTimeoutMs, deadline);
        const text = await res.text(this.bounds.maxResponseBytes, controller.signal, `${req.method} ${this.describe(req)}`);
        return toResponse(res.status, res.headers, text);
      } catch (e) {
        // fetch rejects with the abort reason; a stream may reject with its own AbortError instead.
        throw controller.signal.aborted && controller.signal.reason instanceof BoundExceeded ? controller.signal.reason : e;
      } finally {
        clearTimeout(timer);
      }
    };
    return this.options.gate ? this.options.gate.run(run) : run();
  }

  private arm(controller: AbortController, bound: "first-byte" | "body", ms: number, deadline: { at: number }): NodeJS.Timeout {
    const remainingMs = Math.max(0, deadline.at - this.clock.now());
    // The reason is made when the timer fires: an Error captures a stack, too dear for every request.
    const total = this.bounds.totalTimeoutMs;
    return setTimeout(() => controller.abort(ms <= remainingMs ? new BoundExceeded(bound, ms) : new BoundExceeded("total", total)), Math.min(ms, remainingMs, MAX_TIMER_MS));
  }
}

/** The last error, saying that the call's total bound leaves no time for another attempt. */
function outOfTime(error: SyncError, attempts: number, totalMs: number): SyncError {
  return new SyncError(error.kind, error.code,
    `${error.message} (gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}: the call's total bound of ${totalMs} ms, options.http.totalTimeoutMs, leaves no time for another)`,
    { cause: error, status: error.status, retryAfterMs: error.retryAfterMs, remoteCode: error.remoteCode, details: { ...error.details, attempts, totalTimeoutMs: totalMs } });
}

export function toResponse(status: number, headers: Headers, text: string): HttpResponse {
  return {
    status,
    headers,
    text,
    json<T>(): T {
      return JSON.parse(text) as T;
    },
  };
}
