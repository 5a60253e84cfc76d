import { ErrorCodes, SyncError, isSyncError } from "../errors.js";

/** Why an attempt's own timer aborted it: the abort reason HttpClient gives its controller. */
export class BoundExceeded extends Error {
  constructor(readonly bound: "first-byte" | "body" | "total", readonly ms: number) {
    super(`${bound} bound of ${ms} ms exceeded`);
    this.name = "BoundExceeded";
  }
}

const boundWords: Record<BoundExceeded["bound"], string> = {
  "first-byte": "no response headers within {ms} ms (options.http.firstByteTimeoutMs)",
  body: "the response body did not complete within {ms} ms (options.http.bodyTimeoutMs)",
  total: "the call's total bound ran out ({ms} ms, options.http.totalTimeoutMs)",
};

export interface TransportErrorContext {
  method: string;
  url: string;
  /** How messages name the endpoint (the URL without its query, or the setting for a secret URL). */
  endpoint: string;
  /** The setting that holds the target's address, named when it cannot be reached. */
  setting?: string;
}

/**
 * Errors thrown by the exchange itself (fetch or undici's request, or by `prepare`): SyncErrors pass through, the rest become
 * transient, or permanent for a redirect loop. fetch quotes the whole URL in some messages
 * ("Request cannot be constructed from a URL that includes credentials: <url>"), so the URL is
 * replaced by the endpoint's name in the detail too; host:port never carries a secret.
 */
export function toTransportError(e: unknown, ctx: TransportErrorContext): SyncError {
  if (isSyncError(e)) return e;
  const target = `${ctx.method} ${ctx.endpoint}`;
  if (e instanceof BoundExceeded) {
    return new SyncError("transient", ErrorCodes.Timeout, `${target} timed out: ${boundWords[e.bound].replace("{ms}", String(e.ms))}`,
      { cause: e, details: { bound: e.bound, timeoutMs: e.ms } });
  }
  const name = (e as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new SyncError("transient", ErrorCodes.Timeout, `${target} timed out`, { cause: e });
  }
  // fetch wraps the system error as its cause; undici's request rejects with it directly.
  const cause = (e as { cause?: unknown } | null)?.cause;
  const code = causeCode(cause) ?? causeCode(e);
  const where = hostPort(ctx.url);
  const check = ctx.setting ? `; check ${ctx.setting} and that the service is up` : "";
  if (code === "ECONNREFUSED") {
    return new SyncError("transient", ErrorCodes.ConnectionRefused, `${target} failed: connection refused by ${where}${check}`, { cause: e, details: { host: where } });
  }
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
    return new SyncError("transient", ErrorCodes.ConnectTimeout,
      `${target} failed: no connection to ${where} within the connect timeout (options.http.connectTimeoutMs)${check}`, { cause: e, details: { host: where } });
  }
  if (/redirect count exceeded|max redirects/i.test(`${errorText(cause)} ${errorText(e)}`)) {
    return new SyncError("permanent", ErrorCodes.RedirectLoop,
      `${target} failed: redirect loop (the server kept redirecting, more than 20 times)${ctx.setting ? `; check ${ctx.setting}` : ""}`, { cause: e });
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new SyncError("transient", ErrorCodes.Network, `${target} failed: host ${where} not found (${code})${check}`, { cause: e, details: { host: where } });
  }
  const detail = code ?? withoutUrl(errorText(e), ctx.url, ctx.endpoint);
  return new SyncError("transient", ErrorCodes.Network, `${target} failed: ${detail}`, { cause: e });
}

/** A system error code, also from the first error of an AggregateError (dual-stack connects). */
function causeCode(cause: unknown): string | undefined {
  const c = cause as { code?: unknown; errors?: unknown[] } | null | undefined;
  if (typeof c?.code === "string") return c.code;
  const first = c?.errors?.[0] as { code?: unknown } | undefined;
  return typeof first?.code === "string" ? first.code : undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `host:port` of a URL (the scheme's default port when none is given), never its credentials. */
function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
  } catch {
    return "(not a URL)";
  }
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
