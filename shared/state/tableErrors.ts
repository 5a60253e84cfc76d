import { ErrorCodes, SyncError } from "../errors.js";

/** What the Azure SDKs (data-tables, storage-queue) attach to a failed call. */
interface SdkError {
  statusCode?: number;
  code?: string;
  name?: string;
  details?: { odataError?: { code?: string }; errorCode?: string };
}

export function statusOf(e: unknown): number | undefined {
  const status = (e as SdkError | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** The service's own error code: single-entity errors leave `e.code` empty, transactions set it. */
export function serviceCodeOf(e: unknown): string | undefined {
  const err = e as SdkError | null;
  return err?.details?.odataError?.code ?? err?.details?.errorCode ?? err?.code;
}

/**
 * Maps an SDK error to the product taxonomy. The message names the operation and the service
 * code only: SDK messages can echo request URLs, which with SAS credentials carry a signature.
 */
export function translateStorageError(e: unknown, operation: string): SyncError {
  if (e instanceof SyncError) return e;
  const status = statusOf(e);
  const remoteCode = serviceCodeOf(e);
  const suffix = `${status ?? "no response"}${remoteCode ? ` ${remoteCode}` : ""}`;
  const message = `${operation} failed: ${suffix}`;
  const opts = { cause: e, status, remoteCode };
  if (status === 412) return new SyncError("conflict", ErrorCodes.Concurrency, `${operation}: the entity changed since it was read (${suffix})`, opts);
  if (status === 409) return new SyncError("conflict", ErrorCodes.DuplicateKey, `${operation}: it already exists (${suffix})`, opts);
  if (status === 404) return new SyncError("permanent", ErrorCodes.NotFound, message, opts);
  if (status === 429 || (status === 503 && remoteCode === "ServerBusy")) return new SyncError("throttled", ErrorCodes.Throttled, message, opts);
  if (status === 408 || status === 504) return new SyncError("transient", ErrorCodes.Timeout, message, opts);
  if (status !== undefined && status >= 500) return new SyncError("transient", ErrorCodes.ServerBusy, message, opts);
  if (status === 401 || status === 403) return new SyncError("auth", ErrorCodes.Auth, message, opts);
  if (status === 413) return new SyncError("permanent", ErrorCodes.PayloadTooLarge, message, opts);
  if (status !== undefined) return new SyncError("permanent", ErrorCodes.BadRequest, message, opts);
  const aborted = (e as SdkError | null)?.name === "AbortError";
  return new SyncError("transient", aborted ? ErrorCodes.Timeout : ErrorCodes.Network, message, opts);
}

export function concurrencyError(what: string, cause?: unknown): SyncError {
  return new SyncError("conflict", ErrorCodes.Concurrency, `${what} changed since it was read`, { cause, status: 412 });
}

export function isConcurrency(e: unknown): boolean {
  return e instanceof SyncError && e.code === ErrorCodes.Concurrency;
}
