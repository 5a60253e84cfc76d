/**
 * Turns a non-2xx answer of the App Sync API into a SyncError whose kind decides what happens next:
 * 429/5xx/408 are retried, 412 is a conflict to re-read, 422 is the app refusing the data
 * (permanent, with the app's own code and message), 401/403 are our credentials.
 */
import { ErrorCodes, SyncError } from "../errors.js";
import { safeUrl, type HttpRequest, type HttpResponse } from "../http/httpClient.js";
import { parseRetryAfter } from "../http/retryAfter.js";

export { parseRetryAfter };

export interface AppErrorBody {
  code: string;
  message: string;
}

export function classifyAppError(res: Pick<HttpResponse, "status" | "headers" | "text">, req: Pick<HttpRequest, "method" | "url">, now: number = Date.now()): SyncError {
  const { status } = res;
  const app = parseAppError(res.text);
  const target = `${req.method} ${safeUrl(req.url)}`;
  const said = app.message ? `: ${app.message}` : "";
  const options = { status, remoteCode: app.code || undefined, details: { method: req.method, url: safeUrl(req.url) } };
  if (status === 401 || status === 403) {
    return new SyncError("auth", ErrorCodes.Auth, `The app refused our credentials (${status}) for ${target}${said}`, options);
  }
  if (status === 404) return new SyncError("permanent", ErrorCodes.NotFound, `${target} answered 404${said}`, options);
  if (status === 409 || status === 412) {
    return new SyncError("conflict", ErrorCodes.Concurrency, `The app record changed under us (${status}) for ${target}${said}`, options);
  }
  if (status === 422) {
    // The app's own words are what an operator needs to fix the record, so they are the message.
    return new SyncError("permanent", ErrorCodes.Rejected, app.message || `${target} was rejected (422)`, options);
  }
  const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), now);
  if (status === 429) {
    return new SyncError("throttled", ErrorCodes.Throttled, `The app throttled ${target} (429)${said}`, { ...options, retryAfterMs });
  }
  if (status >= 500 || status === 408) {
    return new SyncError("transient", ErrorCodes.ServerBusy, `${target} answered ${status}${said}`, { ...options, retryAfterMs });
  }
  return new SyncError("permanent", ErrorCodes.BadRequest, `${target} answered ${status}${said}`, options);
}

/** `{"error":{"code","message"}}` when the app sent it; a short excerpt of anything else. */
export function parseAppError(text: string): AppErrorBody {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    return {
      code: typeof body.error?.code === "string" ? body.error.code : "",
      message: typeof body.error?.message === "string" ? body.error.message : "",
    };
  } catch {
    return { code: "", message: text.replace(/\s+/g, " ").trim().slice(0, 200) };
  }
}
