/**
 * The sample app's optional write limit: at most `writesPerSecond` writes (POST, PATCH, DELETE under
 * /sync) in any sliding second; one over it is answered 429 with Retry-After (whole seconds, at least
 * 1, until enough earlier writes have left the second), as a rate-limited API gateway answers.
 */
export interface AppRateLimit {
  writesPerSecond: number;
}

const WRITES = new Set(["POST", "PATCH", "PUT", "DELETE"]);

export class WriteLimiter {
  private readonly admitted: number[] = [];
  private start = 0;
  refused = 0;

  constructor(private limit: AppRateLimit | undefined, private readonly now: () => number) {
    if (limit) WriteLimiter.validate(limit);
  }

  set(limit: AppRateLimit | undefined): void {
    if (limit) WriteLimiter.validate(limit);
    this.limit = limit;
  }

  /** undefined: go ahead (counted); a number: refuse, Retry-After in seconds. */
  take(method: string, path: string): number | undefined {
    if (!this.limit || !WRITES.has(method) || !path.startsWith("/sync/")) return undefined;
    const at = this.now();
    while (this.start < this.admitted.length && this.admitted[this.start] <= at - 1000) this.start += 1;
    if (this.start > 4096) {
      this.admitted.splice(0, this.start);
      this.start = 0;
    }
    const inSecond = this.admitted.length - this.start;
    if (inSecond < this.limit.writesPerSecond) {
      this.admitted.push(at);
      return undefined;
    }
    this.refused += 1;
    const freesAt = this.admitted[this.start + (inSecond - this.limit.writesPerSecond)] + 1000;
    return Math.max(1, Math.ceil((freesAt - at) / 1000));
  }

  private static validate(limit: AppRateLimit): void {
    if (!(Number.isFinite(limit.writesPerSecond) && limit.writesPerSecond > 0)) {
      throw new RangeError(`rateLimit.writesPerSecond must be a positive number, got ${String(limit.writesPerSecond)}`);
    }
  }
}
