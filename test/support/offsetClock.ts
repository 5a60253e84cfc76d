import type { Clock } from "../../shared/ports.js";

/**
 * Real time plus an offset the test moves: `sleep` advances it instead of waiting (one macrotask, so
 * other work runs; `realSleep` waits instead), `advance` and `setDate` move it on purpose. The product learns the time only
 * through its Clock, so this is how a test lets days pass.
 */
export function offsetClock(options: { realSleep?: boolean } = {}): Clock & { advance(ms: number): void; setDate(iso: string): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw signal.reason;
      // A long run (a benchmark) sleeps for real: skipped waits would expire its queue leases early.
      // An abort ends the wait as the system clock's does (the throttle budget wakes its waiters so).
      if (options.realSleep) {
        return new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            clearTimeout(timer);
            reject(signal?.reason);
          };
          const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          }, Math.max(0, ms));
          signal?.addEventListener("abort", onAbort, { once: true });
        });
      }
      offset += Math.max(0, ms);
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    advance: (ms: number) => void (offset += ms),
    setDate: (iso: string) => void (offset = Date.parse(iso) - Date.now()),
  };
}
