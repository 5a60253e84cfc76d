import { z } from "zod";
import type { Services } from "../runtime/services.js";
import { adminDenied, jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { stateUnavailable, unknownMapping } from "./syncApi.js";

/** Shared by the operator routes (adminPending.ts, adminConflicts.ts, adminRecords.ts, adminExport.ts). */

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
/** Bodies of the operator routes are a few fields. */
export const MAX_ADMIN_BODY = 16 * 1024;

/** The admin key, then the mapping (query `mapping` or route `{mapping}`) when one is named. */
export function adminGuard(req: ApiRequest, s: Services, mapping: string | undefined): ApiResponse | undefined {
  return adminDenied(req, s.settings.adminApiKey) ?? unknownMapping(mapping, s);
}

export const invalid = (problems: string[]): ApiResponse => jsonError(400, "INVALID_REQUEST", problems.join("; "), { problems });

/** `limit` of a list route: 1..MAX_PAGE, DEFAULT_PAGE when absent. */
export function limitOf(req: ApiRequest): number | ApiResponse {
  const raw = req.query.get("limit");
  const limit = raw === null || raw === "" ? DEFAULT_PAGE : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) return invalid([`limit: must be a whole number from 1 to ${MAX_PAGE}`]);
  return limit;
}

/** Keys in URLs are opaque: base64url of the entry's id within its mapping. */
export const encodeOpaque = (text: string): string => Buffer.from(text, "utf8").toString("base64url");
export function decodeOpaque(key: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return undefined;
  const text = Buffer.from(key, "base64url").toString("utf8");
  return encodeOpaque(text) === key ? text : undefined;
}

/**
 * One page of items sorted by `sortKey`, after the continuation token (the opaque sort key of the
 * last item of the previous page). Undefined when the token is not one of ours.
 */
export function pageOf<T>(items: T[], sortKey: (t: T) => string, token: string | null, limit: number): { page: T[]; continuationToken?: string } | undefined {
  let after: string | undefined;
  if (token) {
    after = decodeOpaque(token);
    if (after === undefined) return undefined;
  }
  const sorted = items.map((item) => ({ item, key: sortKey(item) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const rest = after === undefined ? sorted : sorted.filter((x) => x.key > after!);
  const page = rest.slice(0, limit);
  return { page: page.map((x) => x.item), ...(rest.length > limit ? { continuationToken: encodeOpaque(page[page.length - 1].key) } : {}) };
}

/** The JSON body of a POST, validated by `schema`; the response when it is missing, too big or wrong. */
export async function jsonBodyOf<T>(req: ApiRequest, schema: z.ZodType<T>): Promise<{ body: T } | { response: ApiResponse }> {
  const text = await req.text();
  if (Buffer.byteLength(text, "utf8") > MAX_ADMIN_BODY) return { response: jsonError(413, "BODY_TOO_LARGE", `the body is over ${MAX_ADMIN_BODY} bytes`) };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { response: jsonError(400, "INVALID_JSON", `the body is not valid JSON: ${(e as Error).message}`) };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { response: invalid(parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`)) };
  return { body: parsed.data };
}

/**
 * A list route of the console: admin key, `mapping`, `limit`, then one page of what `load` reads
 * (sorted by `sortKey`, shown by `show`) with its continuation token. `check` refuses other bad
 * query parameters first.
 */
export async function listRoute<T>(
  req: ApiRequest, s: Services,
  list: { check?: () => ApiResponse | undefined; load: (mapping: string | undefined) => Promise<T[]>; sortKey: (t: T) => string; show: (t: T) => unknown },
): Promise<ApiResponse> {
  const mapping = req.query.get("mapping") || undefined;
  const refused = adminGuard(req, s, mapping) ?? list.check?.();
  if (refused) return refused;
  const limit = limitOf(req);
  if (typeof limit !== "number") return limit;
  try {
    const page = pageOf(await list.load(mapping), list.sortKey, req.query.get("continuationToken"), limit);
    if (!page) return invalid(["continuationToken: not a token this route gave out"]);
    return { status: 200, jsonBody: { items: page.page.map(list.show), ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) } };
  } catch (e) {
    return stateUnavailable(s, e);
  }
}
