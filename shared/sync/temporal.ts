/**
 * Strict date and date-time parsing for the canonical form. `Date.parse` is not used because it
 * guesses: it accepts "2026-02-30" (rolling into March) and reads offset-less times as local time.
 */

/** Dataverse cannot store dates outside this range (SQL datetime floor). */
const MIN_YEAR = 1753;
const MAX_YEAR = 9999;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)$/;

function validDay(year: number, month: number, day: number): boolean {
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}

/** Offset in minutes east of UTC, or undefined when out of range. */
function offsetMinutes(zone: string): number | undefined {
  if (zone === "Z" || zone === "z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}

interface Instant {
  /** Milliseconds since the epoch, UTC, fractional seconds dropped. */
  ms: number;
}

function parseInstant(text: string): Instant | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (!validDay(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const offset = offsetMinutes(m[8]);
  if (offset === undefined) return undefined;
  // Dataverse keeps whole seconds; dropping the fraction (not rounding) matches what it stores.
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offset * 60_000;
  const utcYear = new Date(ms).getUTCFullYear();
  if (utcYear < MIN_YEAR || utcYear > MAX_YEAR) return undefined;
  return { ms };
}

/**
 * "YYYY-MM-DD", or a full ISO date-time that is exactly midnight UTC (any offset that lands on
 * midnight UTC), to "YYYY-MM-DD". Anything else, including impossible calendar days, is undefined.
 */
export function parseDateOnly(text: string): string | undefined {
  const m = DATE.exec(text);
  if (m) return validDay(Number(m[1]), Number(m[2]), Number(m[3])) ? text : undefined;
  const instant = parseInstant(text);
  if (!instant || instant.ms % 86_400_000 !== 0) return undefined;
  return new Date(instant.ms).toISOString().slice(0, 10);
}

/** ISO-8601 date-time with an explicit offset to UTC with second precision: "2026-11-25T03:10:44Z". */
export function parseDateTime(text: string): string | undefined {
  const instant = parseInstant(text);
  if (!instant) return undefined;
  return new Date(instant.ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
