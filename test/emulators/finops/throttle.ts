/**
 * Throttling storms: 429 with an integer-seconds `Retry-After` (F&O's documented form, doc 1.9),
 * for the next N requests or a deterministic fraction of them, optionally only on matching paths.
 */
export interface ThrottleStorm {
  /** How many matching requests the storm covers (default: Infinity with `fraction`, else required). */
  requests?: number;
  /** Integer seconds for `Retry-After` (rounded up if fractional). */
  retryAfterS: number;
  /** Throttle this share (0–1] of the covered requests, spread evenly (every 2nd for 0.5). Default 1. */
  fraction?: number;
  /** Only requests whose path contains this (string) or matches it (RegExp). */
  path?: string | RegExp;
}

interface ActiveStorm extends ThrottleStorm {
  seen: number;
}

export const THROTTLED_MESSAGE = "This request could not be processed at this time due to system experiencing high resource utilization.";

export class Throttle {
  private storms: ActiveStorm[] = [];

  add(storm: ThrottleStorm): void {
    if (!(storm.retryAfterS >= 0)) throw new RangeError("throttle: retryAfterS must be a number of seconds ≥ 0");
    if (storm.fraction !== undefined && !(storm.fraction > 0 && storm.fraction <= 1)) throw new RangeError("throttle: fraction must be in (0, 1]");
    if (storm.requests === undefined && storm.fraction === undefined) throw new RangeError("throttle: give requests, fraction or both");
    this.storms.push({ ...storm, seen: 0 });
  }

  clear(): void {
    this.storms = [];
  }

  /** The Retry-After seconds when this request is throttled. */
  take(path: string): number | undefined {
    for (const storm of this.storms) {
      if (!matches(storm.path, path)) continue;
      const n = storm.seen++;
      const limit = storm.requests ?? Infinity;
      if (storm.seen >= limit) this.storms = this.storms.filter((s) => s !== storm);
      if (n >= limit) continue;
      const f = storm.fraction ?? 1;
      if (Math.floor((n + 1) * f) > Math.floor(n * f)) return Math.ceil(storm.retryAfterS);
    }
    return undefined;
  }
}

function matches(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === "string") return path.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(path);
}
