import { ErrorCodes, SyncError, type ErrorKind } from "../errors.js";
import { safeUrl, type HttpRequest } from "../http/httpClient.js";
import { parseRetryAfter } from "../http/retryAfter.js";

/** Dataverse `error.code` values we act on (hex, lower-case as compared). */
export const DataverseCodes = {
  objectDoesNotExist: "0x80040217",
  duplicateRecord: "0x80040237",
  duplicateRecordEntityKey: "0x80060892",
  concurrencyVersionMismatch: "0x80060882",
  expiredVersionStamp: "0x80044352",
  sqlGovernorBusy: "0x8004a001",
  /** -2147204783: the request ran into the SQL timeout; the bulk chunk was too big. */
  sqlTimeout: "0x80044151",
  /** -2147204784: deadlock (SQL 1205); the same rows were written concurrently. */
  sqlDeadlock: "0x80044150",
  /** "The user is not a member of the organization": the token is good, the environment has no application user for the app. */
  notAMember: "0x80072560",
} as const;

interface ParsedError {
  code: string;
  message: string;
}

/** A response as far as classification needs it (also used for the inner parts of a `$batch`). */
export interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

/**
 * Turns a non-2xx Dataverse response into a typed SyncError; the server message is kept, secrets
 * never enter. `now` (the product's clock) dates a Retry-After given as an HTTP date.
 */
export function classifyDataverseError(res: ResponseLike, req?: Pick<HttpRequest, "method" | "url">, now: number = Date.now()): SyncError {
  const { code, message } = parseError(res.text);
  const hex = code.toLowerCase();
  const status = res.status;
  const where = req ? `${req.method} ${safeUrl(req.url)}: ` : "";
  const make = (kind: ErrorKind, syncCode: string, retryAfterMs?: number) =>
    new SyncError(kind, syncCode, `${where}${status} ${message || "(no message)"}${code ? ` [${code}]` : ""}`, {
      status,
      remoteCode: code || undefined,
      retryAfterMs,
    });

  if (status === 429) return make("throttled", ErrorCodes.Throttled, retryAfterMs(res, now));
  if (hex === DataverseCodes.expiredVersionStamp) return make("permanent", ErrorCodes.ExpiredDeltaToken);
  if (hex === DataverseCodes.sqlTimeout) return make("transient", ErrorCodes.Timeout);
  if (hex === DataverseCodes.sqlGovernorBusy || hex === DataverseCodes.sqlDeadlock) return make("transient", ErrorCodes.ServerBusy);
  if (status === 502 || status === 503 || status === 504) return make("transient", ErrorCodes.ServerBusy);
  if (status === 408) return make("transient", ErrorCodes.Timeout);
  if (status === 404 || hex === DataverseCodes.objectDoesNotExist) return make("permanent", ErrorCodes.NotFound);
  if (hex === DataverseCodes.duplicateRecord || hex === DataverseCodes.duplicateRecordEntityKey) return make("permanent", ErrorCodes.DuplicateKey);
  if (status === 412 && /matching key values already exists/i.test(message)) return make("permanent", ErrorCodes.DuplicateKey);
  if (isVersionMismatch(status, hex)) return make("conflict", ErrorCodes.Concurrency);
  // The application user was deleted (or never created): an administrator must create it again.
  if (hex === DataverseCodes.notAMember) return make("auth", ErrorCodes.ApplicationUserMissing);
  if (status === 401) return make("auth", ErrorCodes.Auth);
  if (status === 403) return make("permanent", ErrorCodes.Privilege);
  return make("permanent", ErrorCodes.Rejected);
}

/**
 * A stale row version (If-Match): `0x80060882` ConcurrencyVersionMismatch, or a 412 with no code
 * (the documented example body has `"code":""`). Other coded 412s (duplicate detection `0x80040333`,
 * say) are not: re-reading and deciding again would only meet them again.
 */
function isVersionMismatch(status: number, hex: string): boolean {
  return hex === DataverseCodes.concurrencyVersionMismatch || (status === 412 && hex === "");
}

function parseError(text: string): ParsedError {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    return { code: typeof body.error?.code === "string" ? body.error.code : "", message: typeof body.error?.message === "string" ? body.error.message : "" };
  } catch {
    // Not JSON (a proxy's HTML page, say): keep a short, single-line excerpt.
    return { code: "", message: text.replace(/\s+/g, " ").trim().slice(0, 200) };
  }
}

/**
 * Retry-After in seconds or as an HTTP date, bounded (shared/http/retryAfter.ts). Seconds are the
 * service's; a test harness that runs the service faster gives the product a Clock that runs as
 * fast (its sleep takes the scaled time), never a header of its own.
 */
function retryAfterMs(res: ResponseLike, now: number): number | undefined {
  return parseRetryAfter(res.headers.get("retry-after"), now);
}
