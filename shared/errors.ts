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
}

export class SyncError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly remoteCode?: string;
  readonly details?: Record<string, unknown>;

  constructor(kind: ErrorKind, code: string, message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SyncError";
    this.kind = kind;
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.remoteCode = options.remoteCode;
    this.details = options.details;
  }

  get retryable(): boolean {
    return this.kind === "transient" || this.kind === "throttled";
  }
}

/** Stable codes. Add new ones here so they stay documented in one place. */
export const ErrorCodes = {
  // transport
  Timeout: "TIMEOUT",
  Network: "NETWORK",
  ServerBusy: "SERVER_BUSY",
  Throttled: "THROTTLED",
  // Dataverse and the app
  NotFound: "NOT_FOUND",
  DuplicateKey: "DUPLICATE_KEY",
  Concurrency: "CONCURRENCY",
  Privilege: "PRIVILEGE",
  Rejected: "REJECTED",
  ExpiredDeltaToken: "EXPIRED_DELTA_TOKEN",
  BadRequest: "BAD_REQUEST",
  Auth: "AUTH",
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
  // state and queues
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
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
