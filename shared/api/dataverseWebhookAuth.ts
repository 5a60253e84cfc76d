import type { Settings } from "../config/settings.js";
import { secretMatches, type ApiRequest } from "./apiTypes.js";
import { signatureMatches } from "./webhookSignature.js";

export const DataverseAuthStyles = {
  webhookKey: "WebhookKey",
  httpHeader: "HttpHeader",
  httpQueryString: "HttpQueryString",
  hmac: "HmacSignature",
} as const;
export type DataverseAuthStyle = (typeof DataverseAuthStyles)[keyof typeof DataverseAuthStyles];

export const HMAC_SIGNATURE_HEADER = "x-ms-signature";

/** The styles the settings enable. DATAVERSE_WEBHOOK_HEADER enables both HttpHeader and HttpQueryString. */
export function enabledDataverseAuthStyles(w: Settings["webhooks"]): DataverseAuthStyle[] {
  const styles: DataverseAuthStyle[] = [];
  if (w.dataverseKey) styles.push(DataverseAuthStyles.webhookKey);
  if (w.dataverseHeader) styles.push(DataverseAuthStyles.httpHeader, DataverseAuthStyles.httpQueryString);
  if (w.dataverseHmacSecret) styles.push(DataverseAuthStyles.hmac);
  return styles;
}

/** A query parameter by name, case-insensitively (registration tools differ in how they case names). */
function queryValue(query: URLSearchParams, name: string): string | null {
  const wanted = name.toLowerCase();
  for (const [key, value] of query) if (key.toLowerCase() === wanted) return value;
  return null;
}

/**
 * Which enabled style the request satisfies, if any. Every enabled style is evaluated (no early
 * exit), each comparison in constant time, so timing does not tell which secret was close.
 * - WebhookKey: `?code=<DATAVERSE_WEBHOOK_KEY>` (or the `x-functions-key` header, as Functions accepts).
 * - HttpHeader: the `Name: value` pair of DATAVERSE_WEBHOOK_HEADER as a request header.
 * - HttpQueryString: the same pair as `?Name=value` (the service endpoint's HttpQueryString style).
 * - HMAC: `X-MS-SIGNATURE` = HMAC-SHA256(raw body, DATAVERSE_WEBHOOK_HMAC_SECRET), hex or base64,
 *   optionally prefixed `sha256=`.
 */
export function matchDataverseAuth(req: ApiRequest, rawBody: string, w: Settings["webhooks"]): DataverseAuthStyle | undefined {
  const matches: DataverseAuthStyle[] = [];
  if (w.dataverseKey) {
    const code = secretMatches(req.query.get("code"), w.dataverseKey);
    const header = secretMatches(req.headers.get("x-functions-key"), w.dataverseKey);
    if (code || header) matches.push(DataverseAuthStyles.webhookKey);
  }
  if (w.dataverseHeader) {
    const { name, value } = w.dataverseHeader;
    if (secretMatches(req.headers.get(name), value)) matches.push(DataverseAuthStyles.httpHeader);
    if (secretMatches(queryValue(req.query, name), value)) matches.push(DataverseAuthStyles.httpQueryString);
  }
  if (w.dataverseHmacSecret && signatureMatches(req.headers.get(HMAC_SIGNATURE_HEADER), w.dataverseHmacSecret, rawBody)) {
    matches.push(DataverseAuthStyles.hmac);
  }
  return matches[0];
}
