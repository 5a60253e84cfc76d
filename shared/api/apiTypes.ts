import { timingSafeEqual, createHash } from "node:crypto";
import { errorMessage } from "../errors.js";

/** The part of `HttpRequest` (@azure/functions) the handlers use; the local runner builds real ones. */
export interface ApiRequest {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
  query: URLSearchParams;
  params: Record<string, string>;
  text(): Promise<string>;
}

export interface ApiResponse {
  status: number;
  jsonBody?: unknown;
  headers?: Record<string, string>;
}

export function jsonError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): ApiResponse {
  return { status, jsonBody: { error: { code, message, ...extra } } };
}

/** Constant-time comparison of a presented secret with the expected one (hashes equalise lengths). */
export function secretMatches(presented: string | null | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Admin routes: `x-functions-key` header or `?code=`, checked against ADMIN_API_KEY in code. */
export function adminAuthorized(req: ApiRequest, adminKey: string | undefined): boolean {
  return secretMatches(req.headers.get("x-functions-key") ?? req.query.get("code"), adminKey);
}

/**
 * The admin-key check of an admin route: undefined when the caller may pass, else the response.
 * Without a configured ADMIN_API_KEY nobody passes, and the answer names the setting (a host built
 * for `npm run sync` does not need it; one that serves these routes does).
 */
export function adminDenied(req: ApiRequest, adminKey: string | undefined): ApiResponse | undefined {
  if (!adminKey) return jsonError(401, "ADMIN_AUTH_NOT_CONFIGURED", "no admin key is configured: set ADMIN_API_KEY (at least 16 characters) to use the manual trigger and the admin routes");
  return adminAuthorized(req, adminKey) ? undefined : unauthorized();
}

export const unauthorized = (): ApiResponse =>
  jsonError(401, "UNAUTHORIZED", "missing or wrong key: send it in the x-functions-key header or the code query parameter");

/**
 * The services could not be built (a missing setting, unreachable storage). The detail goes to the
 * function log only: these routes are reachable from outside and the reason may name internals.
 */
export function servicesUnavailable(e: unknown, log: (message: string) => void): ApiResponse {
  log(`services unavailable: ${errorMessage(e)}`);
  return jsonError(503, "UNAVAILABLE", "the sync app is not ready (configuration or storage); see the function logs");
}
