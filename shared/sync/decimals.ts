/**
 * Fixed-point decimal text for decimal and money values. The canonical form is a string so that
 * 12.5 and 12.50 compare (and hash) equal, and rounding is done on the decimal digits rather than on
 * binary floats, where `(1.005).toFixed(2)` gives "1.00".
 */

const NUMERIC = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$/;
/** Far beyond Dataverse's money range (±922,337,203,685,477); bounds the BigInt work. */
const MAX_INTEGER_DIGITS = 20;

/**
 * A finite JS number, or a string in plain decimal notation, rounded half away from zero to
 * `precision` digits after the point. Undefined when the input is not a number or is too large.
 */
export function toFixedDecimal(input: unknown, precision: number): string | undefined {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) return undefined;
    text = String(input);
  } else if (typeof input === "string") {
    text = input;
  } else {
    return undefined;
  }
  const m = NUMERIC.exec(text);
  if (!m) return undefined;
  const [, sign = "+", intPart = "", fracPart = "", expText = "0"] = m;
  if (intPart === "" && fracPart === "") return undefined;
  const exponent = Number(expText);
  const digits = BigInt((intPart + fracPart) || "0");
  const shift = precision + exponent - fracPart.length;
  let scaled: bigint;
  if (shift >= 0) {
    scaled = digits * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    scaled = digits / divisor;
    if ((digits % divisor) * 2n >= divisor) scaled += 1n;
  }
  const padded = scaled.toString().padStart(precision + 1, "0");
  const whole = padded.slice(0, padded.length - precision);
  if (whole.length > MAX_INTEGER_DIGITS) return undefined;
  const fraction = precision > 0 ? `.${padded.slice(padded.length - precision)}` : "";
  // No "-0.00": zero has one canonical form.
  const negative = sign === "-" && scaled !== 0n;
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** A finite JS number from a number or a plain decimal string; undefined otherwise. */
export function toFiniteNumber(input: unknown): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) ? (Object.is(input, -0) ? 0 : input) : undefined;
  if (typeof input !== "string" || !NUMERIC.test(input) || !/\d/.test(input)) return undefined;
  const n = Number(input);
  return Number.isFinite(n) ? (Object.is(n, -0) ? 0 : n) : undefined;
}
