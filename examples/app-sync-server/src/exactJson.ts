/**
 * JSON numbers without losing digits. The sync sends decimal and money values as JSON numbers
 * with every digit of the mapping's precision, e.g. `1234567.1234567891`, which a binary double
 * (what `JSON.parse` gives you) cannot hold: it would read `1234567.1234567892`. This reviver keeps
 * such a number as a raw JSON token (`JSON.rawJSON`), which `JSON.stringify` writes back digit for
 * digit. Ordinary numbers stay ordinary. Needs Node 22 (source text access in `JSON.parse`).
 *
 * With a database, store these values in a DECIMAL/NUMERIC column from the token's text
 * (`rawText(value)`), not from `Number(value)`.
 */

interface RawJson {
  rawJSON: string;
}

const nativeJson = JSON as unknown as {
  rawJSON?: (text: string) => RawJson;
  isRawJSON?: (value: unknown) => boolean;
};

/** Whether the double nearest to `source` prints back as the same decimal value. */
function fitsDouble(source: string): boolean {
  const n = Number(source);
  return Number.isFinite(n) && normalize(String(n)) === normalize(source);
}

/** Sign, significant digits and exponent, so 12.50 and 12.5 compare equal. */
function normalize(text: string): string {
  const m = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const [, minus = "", whole, fraction = "", exp = "0"] = m;
  const digits = (whole + fraction).replace(/^0+/, "");
  if (digits === "") return "0";
  const trimmed = digits.replace(/0+$/, "");
  return `${minus}${trimmed}e${Number(exp) - fraction.length + digits.length - trimmed.length}`;
}

/** `JSON.parse` reviver (also `express.json({ reviver })`): numbers a double cannot hold stay exact. */
export function exactNumbers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || !context?.source || !nativeJson.rawJSON) return value;
  return fitsDouble(context.source) ? value : nativeJson.rawJSON(context.source);
}

/** A number kept exact by `exactNumbers`. */
export function isExactNumber(value: unknown): boolean {
  return nativeJson.isRawJSON?.(value) === true;
}

/** The decimal text of a JSON number value (exact or plain), for a DECIMAL column. */
export function rawText(value: unknown): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  return isExactNumber(value) ? (value as RawJson).rawJSON : undefined;
}

/** A deep copy that keeps exact numbers (structuredClone cannot copy them). */
export function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), exactNumbers) as T;
}
