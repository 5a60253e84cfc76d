/**
 * Masking of secret values in text that leaves the process (logs, telemetry, error messages).
 * Code never puts a secret into such text on purpose; this is the defence in depth behind that,
 * for the forms a secret takes once a library or a JSON encoder has handled it.
 */

export const MASK = "***";

/** Shorter values are not masked: masking "abc" would garble unrelated text. */
const MIN_MASKED_LENGTH = 6;
/** A path segment this long is a token (Slack's 24 characters, Teams' GUIDs and hex), not a word. */
const MIN_TOKEN_SEGMENT = 16;

/**
 * Every form in which `secret` may show up in a text: as is, JSON-escaped and URL-encoded. A URL
 * (e.g. a chat webhook, whose token is its path) is masked whole: its text with and without the
 * query, its path and query, each query value and each token-like path segment.
 */
export function secretForms(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), ...urlForms(secret)];
  return [...new Set(forms)].filter((f) => f.length >= MIN_MASKED_LENGTH);
}

function urlForms(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return [];
  const withoutQuery = `${url.origin}${url.pathname}`;
  const forms = [url.href, withoutQuery, withoutQuery.replace(/\/+$/, ""), `${url.pathname}${url.search}`, url.search.slice(1)];
  if (url.pathname.length > 1) forms.push(url.pathname, safeDecode(url.pathname));
  for (const segment of url.pathname.split("/")) if (segment.length >= MIN_TOKEN_SEGMENT) forms.push(segment);
  for (const [, v] of url.searchParams) forms.push(v, encodeURIComponent(v));
  return forms;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The secret parts of a storage connection string: the account key, the SAS (and its signature),
 * plus the whole string. Endpoints and the account name are not secret.
 */
export function connectionStringSecrets(connectionString: string): string[] {
  const out = [connectionString];
  for (const part of connectionString.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (name === "accountkey") out.push(value);
    if (name === "sharedaccesssignature") out.push(value, ...(new URLSearchParams(value).getAll("sig")));
  }
  return out;
}

/** A masker for a fixed set of secrets: every form of each, longest first (a form may contain another). */
export function secretMasker(secrets: readonly (string | undefined)[]): (text: string) => string {
  const forms = [...new Set(secrets.filter((s): s is string => !!s).flatMap(secretForms))].sort((a, b) => b.length - a.length);
  if (!forms.length) return (text) => text;
  return (text) => {
    let out = text;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join(MASK);
    return out;
  };
}
