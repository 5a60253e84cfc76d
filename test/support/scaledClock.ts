import { systemClock } from "../../shared/http/clock.js";
import type { Clock } from "../../shared/ports.js";

/**
 * The product's Clock for a service emulated `timeScale` times faster than real time (the Dataverse
 * emulator's `timeScale`): `now` counts simulated ms from `epochMs` (real) on, and `sleep(ms)` takes
 * ms / timeScale real ms. This is how emulated time reaches the product: through the Clock port,
 * never through a header. Processes that share state (a throttle budget row) must share `epochMs`.
 */
export function scaledClock(timeScale: number, epochMs: number = Date.now()): Clock {
  if (!(timeScale > 0)) throw new RangeError("scaledClock needs timeScale > 0");
  return {
    now: () => epochMs + (Date.now() - epochMs) * timeScale,
    sleep: (ms, signal) => systemClock.sleep(ms / timeScale, signal),
  };
}
