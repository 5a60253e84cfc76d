/**
 * The bounds of every outgoing call (Dataverse, the app, the token endpoint). Each one ends a call
 * that would otherwise wait on a peer that does not answer: without them a silent server, a
 * stalled body or a slow-loris body held a call for 5 attempts × 30 s. The mapping file's
 * `options.http` sets them (shared/config/mapping.ts, docs/configuration.md).
 */
export interface HttpBounds {
  /** TCP connect plus TLS handshake of one attempt. */
  connectTimeoutMs: number;
  /** From sending a request to its response headers (connect included). A bulk call may set its own. */
  firstByteTimeoutMs: number;
  /** From the response headers to the last byte of the body, however slowly it trickles. */
  bodyTimeoutMs: number;
  /** One call in total: every attempt and every wait between them. */
  totalTimeoutMs: number;
  /** The longest Retry-After a call waits for; a longer one fails it as RETRY_AFTER_TOO_LONG. */
  maxRetryAfterMs: number;
  /** A response body over this is refused while it streams (RESPONSE_TOO_LARGE). */
  maxResponseBytes: number;
  /** One token acquisition (discovery and token request, MSAL's own retries included). */
  tokenTimeoutMs: number;
}

export const defaultHttpBounds: HttpBounds = {
  connectTimeoutMs: 10_000,
  firstByteTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  totalTimeoutMs: 300_000,
  maxRetryAfterMs: 300_000,
  maxResponseBytes: 32 * 1024 * 1024,
  tokenTimeoutMs: 60_000,
};

/** setTimeout fires at once above this (Node warns and uses 1 ms), so no timer is ever set longer. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function boundsWith(overrides: Partial<HttpBounds> = {}): HttpBounds {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...defaultHttpBounds, ...defined };
}
