import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";

/** Dataverse sends payloads up to this size (over it, it strips the large properties instead). */
export const DATAVERSE_MAX_PAYLOAD_BYTES = 256 * 1024;

export type BodyRead = { ok: true; text: string } | { ok: false; response: ApiResponse };

/** The configured limit, never below what Dataverse may legitimately send. */
export function webhookBodyLimit(configured: number): number {
  return Math.max(configured, DATAVERSE_MAX_PAYLOAD_BYTES);
}

const tooLarge = (limit: number): ApiResponse =>
  jsonError(413, "BODY_TOO_LARGE", `the body is over the ${limit}-byte webhook limit (options.webhookMaxBodyBytes)`, { limit });

/**
 * Reads the raw body (signatures are computed over it, so it is never re-serialised). The declared
 * Content-Length is checked first so an oversized delivery is refused without buffering it where the
 * host streams; the actual size is checked too, because the header can be absent or wrong.
 */
export async function readWebhookBody(req: ApiRequest, limit: number): Promise<BodyRead> {
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) return { ok: false, response: tooLarge(limit) };
  const text = await req.text();
  if (Buffer.byteLength(text, "utf8") > limit) return { ok: false, response: tooLarge(limit) };
  return { ok: true, text };
}

export type JsonRead = { ok: true; value: unknown } | { ok: false; response: ApiResponse };

export function parseJsonBody(text: string): JsonRead {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, response: jsonError(400, "INVALID_JSON", `the body is not valid JSON: ${(e as Error).message}`) };
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
