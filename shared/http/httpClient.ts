import { ErrorCodes, SyncError, isSyncError } from "../errors.js";
import type { Clock } from "../ports.js";
import { systemClock } from "./clock.js";
import { defaultRetryPolicy, retryDelay, type RetryPolicy } from "./retryPolicy.js";

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
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
  fetch?: typeof fetch;
  clock?: Clock;
  policy?: RetryPolicy;
  timeoutMs?: number;
  random?: () => number;
  /** Turn a non-2xx response into a SyncError (kind decides retry); called only for non-2xx that are not `accept`ed. */
  classify: (res: HttpResponse, req: HttpRequest) => SyncError;
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

const defaultTimeoutMs = 30_000;

/** One small loop that sleeps: the retry decisions themselves are the pure `retryDelay`. */
export class HttpClient {
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;

  constructor(private readonly options: HttpClientOptions) {
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.clock = options.clock ?? systemClock;
    this.policy = options.policy ?? defaultRetryPolicy;
  }

  /** Sends with a timeout and bounded retries for transient and throttled errors. */
  async send(req: HttpRequest, options: SendOptions = {}): Promise<HttpResponse> {
    const accept = options.accept ?? [];
    for (let attempt = 1; ; attempt++) {
      let error: SyncError;
      let prepared = req;
      try {
        prepared = this.options.prepare ? await this.options.prepare({ ...req, headers: { ...req.headers } }) : req;
        const res = await this.attempt(prepared);
        if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
        error = this.options.classify(res, prepared);
      } catch (e) {
        error = toTransportError(e, prepared, this.options.describe?.(prepared) ?? safeUrl(prepared.url));
      }
      const allowed = options.retry !== false && (options.retryIf?.(error) ?? true);
      const delayMs = !allowed ? null : retryDelay(this.policy, attempt, error, this.options.random);
      if (delayMs === null) throw error;
      const info = { attempt, delayMs, error, req: prepared };
      this.options.onRetry?.(info);
      options.onRetry?.(info);
      await this.clock.sleep(delayMs);
    }
  }

  private async attempt(req: HttpRequest): Promise<HttpResponse> {
    const run = async (): Promise<HttpResponse> => {
      const timeoutMs = req.timeoutMs ?? this.options.timeoutMs ?? defaultTimeoutMs;
      const res = await this.fetchImpl(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The body is read inside the timeout too: a server that stalls mid-body must not hang us.
      const text = await res.text();
      return toResponse(res.status, res.headers, text);
    };
    return this.options.gate ? this.options.gate.run(run) : run();
  }
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

/**
 * Errors thrown by fetch itself (or by `prepare`): SyncErrors pass through, the rest become transient.
 * fetch quotes the whole URL in some messages ("Request cannot be constructed from a URL that
 * includes credentials: <url>"), so the URL is replaced by the endpoint's name in the detail too.
 */
function toTransportError(e: unknown, req: HttpRequest, endpoint: string): SyncError {
  if (isSyncError(e)) return e;
  const target = `${req.method} ${endpoint}`;
  const name = (e as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new SyncError("transient", ErrorCodes.Timeout, `${target} timed out`, { cause: e });
  }
  const code = (e as { cause?: { code?: string } } | null)?.cause?.code;
  const detail = code ?? withoutUrl(e instanceof Error ? e.message : String(e), req.url, endpoint);
  return new SyncError("transient", ErrorCodes.Network, `${target} failed: ${detail}`, { cause: e });
}

/** `text` with every spelling of `url` (as given, as parsed, without its query) replaced by `endpoint`. */
function withoutUrl(text: string, url: string, endpoint: string): string {
  let href = url;
  try {
    href = new URL(url).href;
  } catch {
    // not a URL: only the given text is replaced
  }
  const spellings = [...new Set([url, href, safeUrl(url), safeUrl(href)])].filter((u) => u.length > 0).sort((a, b) => b.length - a.length);
  let out = text;
  for (const u of spellings) out = out.split(u).join(endpoint);
  return out;
}

/** The URL without its query string: queries may carry tokens or personal data. */
export function safeUrl(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}
