/**
 * JSON numbers without the detour through a binary double. A double holds about 15.9 significant
 * digits, so JSON.parse reads the Dataverse decimal `1234567.1234567891` as `1234567.1234567892`,
 * and JSON.stringify of a JS number can only write what the double holds. Decimal and money values
 * are exact decimal strings in the canonical form (values.ts); these helpers carry those digits
 * into and out of JSON text unchanged.
 *
 * - `ExactNumber` is a number whose decimal text a double cannot hold. It is a `Number` (arithmetic,
 *   `<`, filtrex filters and `toLocaleString` see its nearest double), its `text` is the exact
 *   decimal, and JSON.stringify writes that text as a JSON number token (`JSON.rawJSON`).
 * - `jsonNumber(text)` is the value to put in a JSON body for a decimal text: a plain number when
 *   the double is exact (so ordinary values stay ordinary), an ExactNumber otherwise.
 * - `parseJson(text)` is JSON.parse that returns the number tokens a double cannot hold as
 *   ExactNumbers, from their source text (JSON.parse source text access, Node 22 / V8 11.4+).
 *
 * On a runtime without `JSON.rawJSON` and source text access (Node 20) both degrade to plain
 * JSON numbers, which is how they were written and read before; Azure and every script here run
 * Node 22.
 */

interface ParseContext {
  source?: string;
}

const nativeJson = JSON as unknown as {
  rawJSON?: (text: string) => unknown;
  parse(text: string, reviver: (this: unknown, key: string, value: unknown, context?: ParseContext) => unknown): unknown;
};

/** True when JSON.parse hands a reviver the number token's source text. */
export const hasSourceTextAccess: boolean = (() => {
  let source: string | undefined;
  nativeJson.parse("1.10", (_key, value, context) => ((source = context?.source), value));
  return source === "1.10";
})();

/** True when JSON.stringify can write a raw number token. */
export const hasRawJson: boolean = typeof nativeJson.rawJSON === "function";

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A decimal text as sign, significant digits and exponent, so equal values compare equal. */
function normalize(text: string): string | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const [, minus = "", whole, fraction = "", exp = "0"] = m;
  let digits = (whole + fraction).replace(/^0+/, "");
  if (digits === "") return "0";
  let exponent = Number(exp) - fraction.length;
  const trimmed = digits.replace(/0+$/, "");
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  return `${minus}${digits}e${exponent}`;
}

/** Whether the double nearest to `text` prints back as the same decimal value. */
export function fitsDouble(text: string): boolean {
  const n = Number(text);
  if (!Number.isFinite(n)) return false;
  const wanted = normalize(text);
  return wanted !== undefined && wanted === normalize(String(n));
}

/** A JSON number that keeps its exact decimal text. */
export class ExactNumber extends Number {
  /** The number as plain decimal JSON text, e.g. "1234567.1234567891". */
  readonly text: string;

  constructor(text: string) {
    if (normalize(text) === undefined) throw new TypeError(`Not a JSON number: ${JSON.stringify(text.slice(0, 40))}`);
    super(Number(text));
    this.text = text;
    Object.freeze(this);
  }

  /** JSON.stringify writes the digits themselves, not the double. */
  toJSON(): unknown {
    return hasRawJson ? nativeJson.rawJSON!(this.text) : this.valueOf();
  }

  override toString(radix?: number): string {
    return radix === undefined || radix === 10 ? this.text : super.toString(radix);
  }
}

/** The JSON body value for a decimal text: a plain number when a double is exact, else an ExactNumber. */
export function jsonNumber(text: string): number | ExactNumber {
  return fitsDouble(text) ? Number(text) : new ExactNumber(text);
}

/** The decimal text of a number-like value (ExactNumber keeps its digits), else the value itself. */
export function numberText(value: unknown): unknown {
  if (value instanceof ExactNumber) return value.text;
  if (value instanceof Number) return value.valueOf();
  return value;
}

/**
 * Cheap pre-check: a number token (after `:`, `,` or `[`) can lose digits only with more than 15
 * significant digits or a 3-digit exponent. Most pages have neither and take the plain JSON.parse
 * path (no reviver cost). Text inside strings may match too; that only costs the slower path.
 */
const MAY_LOSE_DIGITS = /[:,[]\s*-?(?:(?:\d\.?){16}|\d+(?:\.\d+)?[eE][+-]?\d{3})/;

function keepExactNumbers(_key: string, value: unknown, context?: ParseContext): unknown {
  if (typeof value !== "number") return value;
  const source = context?.source;
  // Up to 15 digits (and no exponent) a double is always exact.
  if (source === undefined || (source.length <= 15 && !/[eE]/.test(source))) return value;
  return fitsDouble(source) ? value : new ExactNumber(source);
}

/** JSON.parse that keeps the digits of number tokens a double cannot hold (as ExactNumbers). */
export function parseJson<T = unknown>(text: string): T {
  if (!hasSourceTextAccess || !MAY_LOSE_DIGITS.test(text)) return JSON.parse(text) as T;
  return nativeJson.parse(text, keepExactNumbers) as T;
}
