import type { AttemptGate } from "../http/httpClient.js";

export interface ConcurrencyLimiterOptions {
  /** Hard ceiling (Dataverse fails at once above 52 concurrent requests per user and server). */
  max?: number;
  /** Limit before the server has sent an `x-ms-dop-hint`. */
  initial?: number;
}

/**
 * AIMD concurrency limiter: starts from the first `x-ms-dop-hint` seen, halves on every 429 and
 * grows back by one slot per window of successful requests, never above the hint.
 */
export class ConcurrencyLimiter implements AttemptGate {
  private readonly max: number;
  private ceiling: number;
  private current: number;
  private hinted = false;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: ConcurrencyLimiterOptions = {}) {
    this.max = Math.max(1, Math.min(options.max ?? 52, 52));
    this.ceiling = this.max;
    this.current = Math.min(this.max, Math.max(1, options.initial ?? 4));
  }

  get limit(): number {
    return Math.max(1, Math.floor(this.current));
  }

  get inFlight(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A slot is reserved before the caller runs: by us here, or by wake() on the caller's behalf.
    if (this.active < this.limit && this.waiting.length === 0) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      this.active--;
      this.wake();
    }
  }

  /** Feed every response: the first dop hint sets the level, 429 shrinks, success grows slowly. */
  observe(status: number, dopHint: string | null): void {
    if (!this.hinted && dopHint !== null) {
      const hint = Number.parseInt(dopHint, 10);
      if (Number.isFinite(hint) && hint > 0) {
        this.hinted = true;
        this.ceiling = Math.min(hint, this.max);
        this.current = this.ceiling;
      }
    }
    if (status === 429) this.current = Math.max(1, Math.floor(this.current / 2));
    else if (status < 500 && this.current < this.ceiling) this.current = Math.min(this.ceiling, this.current + 1 / this.limit);
    this.wake();
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.active < this.limit) {
      this.active++;
      this.waiting.shift()!();
    }
  }
}
