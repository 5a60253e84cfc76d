/**
 * Turns a non-2xx answer of Finance & Operations (connector API, OData actions, blob storage) into
 * a SyncError whose kind decides what happens next: 429 is throttled with its integer Retry-After
 * (finops-activities-tenants.md 1.9), 5xx and 408 are transient (the download endpoint answers 500
 * now and then, 1.3), 401/403 are our credentials or the job's authorization policy, the rest permanent.
 */
import { ErrorCodes, SyncError } from "../errors.js";
import { safeUrl, type HttpRequest, type HttpResponse } from "../http/httpClient.js";
import { parseRetryAfter } from "../http/retryAfter.js";

export function classifyFinopsError(res: Pick<HttpResponse, "status" | "headers" | "text">, req: Pick<HttpRequest, "method" | "url">, now: number): SyncError {
  const { status } = res;
  const said = finopsMessage(res.text);
  const target = `${req.method} ${safeUrl(req.url)}`;
  const options = { status, details: { method: req.method, url: safeUrl(req.url) } };
  const words = said ? `: ${said}` : "";
  if (status === 401 || status === 403) {
    return new SyncError("auth", ErrorCodes.Auth,
      `F&O refused our credentials (${status}) for ${target}${words}; check that the app is registered in F&O's Microsoft Entra applications form and enabled on the job's authorization policy`, options);
  }
  const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), now);
  if (status === 429) return new SyncError("throttled", ErrorCodes.Throttled, `F&O throttled ${target} (429)${words}`, { ...options, retryAfterMs });
  if (status >= 500 || status === 408) return new SyncError("transient", ErrorCodes.ServerBusy, `${target} answered ${status}${words}`, { ...options, retryAfterMs });
  if (status === 404) return new SyncError("permanent", ErrorCodes.NotFound, `${target} answered 404${words}`, options);
  return new SyncError("permanent", ErrorCodes.BadRequest, `${target} answered ${status}${words}`, options);
}

/** F&O's own words: `{"error":{"message"}}` (OData), `{"Message"}`, blob XML `<Message>`, or a short excerpt. */
export function finopsMessage(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return "";
  try {
    const body = JSON.parse(trimmed) as { error?: { message?: unknown; code?: unknown }; Message?: unknown; message?: unknown };
    const message = body.error?.message ?? body.Message ?? body.message;
    if (typeof message === "string") return message.slice(0, 500);
  } catch {
    const xml = /<Message>([\s\S]*?)<\/Message>/i.exec(trimmed);
    if (xml) return xml[1].trim().slice(0, 500);
  }
  return trimmed.replace(/\s+/g, " ").slice(0, 200);
}
