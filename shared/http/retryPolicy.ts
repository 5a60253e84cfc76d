import type { SyncError } from "../errors.js";

export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * ms to wait before attempt `attempt + 1`, or null to stop. `attempt` counts the attempts made so
 * far (1 after the first failure). Retry-After is a floor that is never undercut; full jitter over
 * the exponential back-off goes on top of it, so many clients throttled together spread out.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, error: SyncError, random: () => number = Math.random): number | null {
  if (!error.retryable) return null;
  if (attempt >= policy.maxAttempts) return null;
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jitter = Math.floor(clamp01(random()) * exponential);
  const floor = error.retryAfterMs !== undefined && error.retryAfterMs > 0 ? error.retryAfterMs : 0;
  return floor + jitter;
}

function clamp01(n: number): number {
  if (!Number.isFinite(n) || n < 0) return 0;
  return n >= 1 ? 0.999999 : n;
}
