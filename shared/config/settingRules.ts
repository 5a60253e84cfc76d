/**
 * Checks for single setting values. Each returns `{ value }` or `{ problem }`, where the problem
 * says what was expected and, for non-secret settings only, what was found.
 */
export type Checked<T> = { value: T } | { problem: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
/** RFC 9110 token characters: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const MIN_SECRET_LENGTH = 16;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** 127.0.0.0/8, localhost and [::1]: the only hosts where plain http is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || host === "::1") return true;
  const octets = host.split(".");
  return octets.length === 4 && octets[0] === "127" && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** How a value is quoted in a message: never for secrets, with any URL user-info masked otherwise. */
export function shown(value: string, secret: boolean): string {
  if (secret) return `a value of ${value.length} characters`;
  let text = value;
  try {
    const url = new URL(value);
    if (url.username || url.password) {
      url.username = "***";
      url.password = "";
      text = url.toString();
    }
  } catch {
    // not a URL: shown as is
  }
  return `'${text.length > 120 ? `${text.slice(0, 117)}...` : text}'`;
}

export interface UrlRules {
  /** Allow a path (e.g. an app behind a path prefix); otherwise only an origin is accepted. */
  allowPath: boolean;
  /** Allow a ?query (only meaningful with allowPath; e.g. a notification webhook with a token). */
  allowQuery?: boolean;
  /** Allow plain http:// for loopback hosts (local emulators). */
  loopbackHttp: boolean;
  /** Allow plain http:// for any host (an app on a private network); https is still preferred. */
  httpAnyHost?: boolean;
  /** The value is a secret (e.g. a webhook URL with a token in it): never quote it. */
  secret?: boolean;
}

/** A URL setting, returned without a trailing slash. */
export function checkUrl(raw: string, rules: UrlRules): Checked<string> {
  const got = `got ${shown(raw, rules.secret ?? false)}`;
  const expected = rules.httpAnyHost
    ? "must be an http:// or https:// URL"
    : rules.loopbackHttp
      ? "must be an https:// URL (http:// only for loopback hosts such as 127.0.0.1)"
      : "must be an https:// URL";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `${expected}, ${got}` };
  }
  const httpOk = url.protocol === "http:" && (rules.httpAnyHost || (rules.loopbackHttp && isLoopbackHost(url.hostname)));
  if (url.protocol !== "https:" && !httpOk) return { problem: `${expected}, ${got}` };
  if (url.username || url.password) return { problem: `must not contain a user name or password, ${got}` };
  if (!rules.allowPath && url.pathname !== "/" && url.pathname !== "") {
    return { problem: `must be a bare origin without a path, query or fragment, ${got}` };
  }
  if (!rules.allowPath && (url.search || url.hash)) {
    return { problem: `must be a bare origin without a path, query or fragment, ${got}` };
  }
  if (rules.allowPath && url.hash) return { problem: `must not contain a #fragment, ${got}` };
  if (rules.allowPath && url.search && !rules.allowQuery) return { problem: `must not contain a ?query, ${got}` };
  const text = url.toString();
  return { value: url.search ? text : text.replace(/\/+$/, "") };
}

/** The Entra tenant: a GUID or a verified domain such as contoso.onmicrosoft.com. */
export function checkTenant(raw: string): Checked<string> {
  if (isGuid(raw) || DOMAIN.test(raw)) return { value: raw };
  return { problem: `must be a tenant GUID or a domain name such as contoso.onmicrosoft.com, got ${shown(raw, false)}` };
}

export function checkGuid(raw: string, what: string): Checked<string> {
  if (isGuid(raw)) return { value: raw };
  return { problem: `must be ${what} (a GUID such as 00000000-0000-0000-0000-000000000000), got ${shown(raw, false)}` };
}

export function checkSecret(raw: string, minLength: number): Checked<string> {
  if (raw.length >= minLength) return { value: raw };
  return { problem: `must be at least ${minLength} characters long, got ${shown(raw, true)}` };
}

export interface WebhookHeader {
  name: string;
  value: string;
}

/** `Name: value`, as the HttpHeader authentication style of a Dataverse service endpoint. */
export function checkHeader(raw: string): Checked<WebhookHeader> {
  const colon = raw.indexOf(":");
  const name = colon < 0 ? "" : raw.slice(0, colon).trim();
  const value = colon < 0 ? "" : raw.slice(colon + 1).trim();
  if (!name || !HEADER_NAME.test(name)) {
    return { problem: `must be 'Name: value' with a valid HTTP header name before the colon, got ${shown(raw, true)}` };
  }
  if (value.length < MIN_SECRET_LENGTH) {
    return { problem: `the value after '${name}:' must be at least ${MIN_SECRET_LENGTH} characters long, got ${shown(value, true)}` };
  }
  return { value: { name, value } };
}

export function checkPort(raw: string): Checked<number> {
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (Number.isInteger(port) && port >= 0 && port <= 65535) return { value: port };
  return { problem: `must be a port number from 0 to 65535, got ${shown(raw, false)}` };
}

export function checkHost(raw: string): Checked<string> {
  if (/^[A-Za-z0-9.:[\]-]+$/.test(raw)) return { value: raw };
  return { problem: `must be a host name or IP address to listen on, such as 127.0.0.1, got ${shown(raw, false)}` };
}

/** The `Key=value` parts of a connection string, keys lower-cased. */
export function connectionParts(raw: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const part of raw.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) parts.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return parts;
}

/** Endpoints an Application Insights connection string may name; the exporter sends to them. */
const APP_INSIGHTS_ENDPOINTS = ["IngestionEndpoint", "LiveEndpoint"] as const;

/**
 * Application Insights connection strings always name the key or the ingestion endpoint, and their
 * endpoints are https:// URLs. The value is treated as a secret: never quoted.
 */
export function checkAppInsights(raw: string): Checked<string> {
  const parts = connectionParts(raw);
  const got = `got ${shown(raw, true)}`;
  if (!parts.has("instrumentationkey") && !parts.has("ingestionendpoint")) {
    return { problem: `must be an Application Insights connection string containing InstrumentationKey= or IngestionEndpoint=, ${got}` };
  }
  for (const name of APP_INSIGHTS_ENDPOINTS) {
    const endpoint = parts.get(name.toLowerCase());
    if (endpoint !== undefined && "problem" in checkUrl(endpoint, { allowPath: true, loopbackHttp: true, secret: true })) {
      return { problem: `must have an https:// URL as its ${name} (http:// only for loopback hosts), ${got}` };
    }
  }
  return { value: raw };
}
