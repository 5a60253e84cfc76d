/**
 * One error taxonomy for the whole product. The `kind` encodes what the caller should do:
 * - transient: retry with back-off (network reset, timeout, 502/503/504)
 * - throttled: retry, never before `retryAfterMs` (429)
 * - conflict: the target changed under us (412); re-read and decide
 * - permanent: the record or request is wrong for the target; retrying the same input cannot help
 * - validation: our own input (config, mapping, a value that cannot be mapped) is wrong
 * - auth: credentials or token problems (401/403 on token, bad secret)
 * `code` is a stable string users can search for in logs and docs (see docs/errors.md).
 */
export type ErrorKind = "transient" | "throttled" | "conflict" | "permanent" | "validation" | "auth";

export interface SyncErrorOptions {
  cause?: unknown;
  status?: number;
  retryAfterMs?: number;
  /** The remote system's own error code, e.g. Dataverse `0x80040217`. */
  remoteCode?: string;
  details?: Record<string, unknown>;
  /**
   * false: not retried by this invocation or its queue redeliveries although the kind would be
   * (a Retry-After longer than the call may wait): the record goes pending and a later run retries it.
   */
  retryable?: false;
}

export class SyncError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly remoteCode?: string;
  readonly details?: Record<string, unknown>;
  private readonly notRetryable: boolean;

  constructor(kind: ErrorKind, code: string, message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SyncError";
    this.kind = kind;
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.remoteCode = options.remoteCode;
    this.details = options.details;
    this.notRetryable = options.retryable === false;
  }

  get retryable(): boolean {
    return !this.notRetryable && (this.kind === "transient" || this.kind === "throttled");
  }
}

/** Stable codes. Add new ones here so they stay documented in one place. */
export const ErrorCodes = {
  // transport
  Timeout: "TIMEOUT",
  Network: "NETWORK",
  ServerBusy: "SERVER_BUSY",
  Throttled: "THROTTLED",
  /** A connection (TCP and TLS) was not established within options.http.connectTimeoutMs: the request never ran. */
  ConnectTimeout: "CONNECT_TIMEOUT",
  /** The host refused the connection (closed port); the message names host:port and the setting holding it. */
  ConnectionRefused: "CONNECTION_REFUSED",
  /** The server answered with redirects that never end (fetch gives up after 20). */
  RedirectLoop: "REDIRECT_LOOP",
  /** Throttled with a Retry-After longer than the call may wait (options.http.maxRetryAfterMs or the call's remaining total). */
  RetryAfterTooLong: "RETRY_AFTER_TOO_LONG",
  /** A response body over options.http.maxResponseBytes: refused while streaming, never buffered whole. */
  ResponseTooLarge: "RESPONSE_TOO_LARGE",
  // Dataverse and the app
  NotFound: "NOT_FOUND",
  DuplicateKey: "DUPLICATE_KEY",
  Concurrency: "CONCURRENCY",
  Privilege: "PRIVILEGE",
  Rejected: "REJECTED",
  ExpiredDeltaToken: "EXPIRED_DELTA_TOKEN",
  BadRequest: "BAD_REQUEST",
  Auth: "AUTH",
  /**
   * A peer answered something other than the documented answer (a 200 with an error body, a bulk
   * Ids array that is missing or short, a record without id, version or data): that record fails
   * and stays pending instead of counting as done.
   */
  UnexpectedResponse: "UNEXPECTED_RESPONSE",
  /** A change feed's cursor or next link repeated or did not advance (A → B → A included): the mapping's run ends. */
  FeedLoop: "FEED_LOOP",
  /** A change-feed page held more records than were asked for (the `limit` or `odata.maxpagesize`): the mapping's run ends. */
  PageTooLarge: "PAGE_TOO_LARGE",
  /** One read of a change feed went over options.feeds.maxPages pages or maxBytes bytes: the mapping's run ends. */
  FeedTooLong: "FEED_TOO_LONG",
  // mapping and config
  Unmappable: "UNMAPPABLE_VALUE",
  UnresolvedLookup: "UNRESOLVED_LOOKUP",
  InvalidConfig: "INVALID_CONFIG",
  InvalidSetting: "INVALID_SETTING",
  // engine
  MassDeleteBlocked: "MASS_DELETE_BLOCKED",
  AttemptsExhausted: "ATTEMPTS_EXHAUSTED",
  /** A record beyond the absolute size limit (shared/sync/writeOps.ts MAX_RECORD_JSON_BYTES): failed alone, before sending. */
  RecordTooLarge: "RECORD_TOO_LARGE",
  /** Pending, not failed: one side is outside its mapping filter while the other side changed. */
  Filtered: "FILTERED",
  /** Pending, not failed: a `manual` conflict waits for review. */
  ConflictParked: "CONFLICT_PARKED",
  /** Pending, not failed: an unlinked Dataverse row holds the key of an app record linked to another row (decide.ts holdDuplicate). */
  DuplicateRow: "DUPLICATE_ROW",
  // operator console (shared/sync/operatorActions.ts)
  /** A pending entry names no record id to re-read (an operator can only discard it). */
  PendingNotRetryable: "PENDING_NOT_RETRYABLE",
  /** A conflict resolution names fields outside the conflict or leaves one of its fields undecided. */
  InvalidResolution: "INVALID_RESOLUTION",
  // multi-tenant (shared/tenants)
  /** The storage already holds another Dataverse environment's sync state for this tenant: the deployment refuses to run. */
  StorageEnvironmentMismatch: "STORAGE_ENVIRONMENT_MISMATCH",
  /** No tenant with that id is registered (`?tenant=`, `--tenant`, a queue message's tenant). */
  TenantNotFound: "TENANT_NOT_FOUND",
  /** The customer's Entra tenant has not consented to the app registration (AADSTS700016 / AADSTS65001). */
  ConsentRequired: "CONSENT_REQUIRED",
  /** The token is fine but the customer's Dataverse has no application user for the app (403 0x80072560). */
  ApplicationUserMissing: "APPLICATION_USER_MISSING",
  // state and queues
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  // Finance & Operations jobs (shared/finops)
  /** F&O reported a record of an import as failed (execution errors, error keys): the app record stays pending with F&O's words. */
  FinopsRecordRejected: "FINOPS_RECORD_REJECTED",
  /** An F&O message or execution failed as a whole (PreProcessingError, PostProcessingFailed, Failed, Canceled) and no record was named. */
  FinopsMessageFailed: "FINOPS_MESSAGE_FAILED",
  /** An enqueue or import whose answer was lost: F&O has no idempotency key, so the job refuses to send it again until an operator decides. */
  FinopsEnqueueUnconfirmed: "FINOPS_ENQUEUE_UNCONFIRMED",
  /** A record of an F&O export could not be read or mapped (a missing key, an unparsable value): pending, the message is still acked. */
  FinopsRecordUnreadable: "FINOPS_RECORD_UNREADABLE",
  /** An F&O answer or file was not in the documented shape (dequeue JSON, package zip, CSV). */
  FinopsUnexpectedFile: "FINOPS_UNEXPECTED_FILE",
  /** No F&O job of that name in the mapping file's `finops` array. */
  FinopsUnknownJob: "FINOPS_UNKNOWN_JOB",
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export function isSyncError(e: unknown): e is SyncError {
  return e instanceof SyncError;
}

/** Message of any thrown value, without secrets added by us (callers never put secrets in messages). */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
