/**
 * Retry-After as a wait in ms, for every client (Dataverse, the app). The header comes from a peer
 * we do not control, so what it says is bounded before anything waits on it:
 * - delay-seconds (`120`, `1.5`): the wait; a negative number is no wait (0);
 * - an HTTP date: the time until it, from `now` (the product's Clock); a date in the past is 0;
 * - anything above MAX_RETRY_AFTER_MS (`1e9`, a date a year ahead) is clamped to it. Whether the
 *   call waits that long is the caller's decision (HttpClient fails it as RETRY_AFTER_TOO_LONG);
 * - empty or unparsable (`soon`, `NaN`, `Infinity`): undefined, as if the header were absent.
 */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60_000;

const SECONDS = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (SECONDS.test(value)) return clampWait(Number(value) * 1000);
  // Only a real date: Date.parse also reads bare numbers and odd fragments that are no HTTP date.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : clampWait(date - now);
}

function clampWait(ms: number): number | undefined {
  if (Number.isNaN(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.ceil(ms)));
}
