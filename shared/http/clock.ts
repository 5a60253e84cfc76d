import type { Clock } from "../ports.js";
import { MAX_TIMER_MS } from "./httpBounds.js";

/**
 * Real time. `sleep` rejects with the signal's reason when aborted, so callers can stop waiting.
 * A wait longer than a timer can hold (2^31-1 ms; Node fires such a timer after 1 ms) is slept in
 * parts, so a long wait is never cut short.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const until = Date.now() + Math.max(0, ms);
      let timer: NodeJS.Timeout;
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const wait = () => {
        const left = until - Date.now();
        if (left <= 0 || !Number.isFinite(left)) {
          signal?.removeEventListener("abort", onAbort);
          return resolve();
        }
        timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      timer = setTimeout(wait, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    });
  },
};
