/**
 * Service protection as Dataverse documents it (dataverse-web-api.md §6): per user, a sliding
 * window of `windowSeconds` with at most `maxRequests` requests and `maxExecutionMs` combined
 * execution time, plus a concurrency cap that fails at once. A `$batch` or bulk message is ONE
 * request but brings its whole execution time. Time is simulated: see throttleModel.ts.
 */
import type { EmuResponse } from "./types.js";
import {
  executionCostMs,
  resolveThrottleOptions,
  type RequestKind,
  type ThrottleOptions,
  type ThrottleOptionsInput,
} from "./throttleModel.js";

export { ceilingRecordsPerSecond, DEFAULT_COST, DEFAULT_THROTTLE } from "./throttleModel.js";
export type { CostModel, RequestKind, ThrottleOptions, ThrottleOptionsInput } from "./throttleModel.js";

export const ThrottleCodes = {
  requests: "0x80072322",
  executionTime: "0x80072321",
  concurrency: "0x80072326",
} as const;
export type ThrottleCode = (typeof ThrottleCodes)[keyof typeof ThrottleCodes];

export type Admission =
  | { admitted: true; latencyMs: number; executionMs: number; release(): void }
  | { admitted: false; response: EmuResponse };

export interface AdmitRequest {
  userId: string;
  kind: RequestKind;
  operations: number;
  /** Lets a single GET cost `readMs` instead of `writeMs`. */
  method?: string;
}

export interface ThrottleStats {
  requests: number;
  operations: number;
  /** Simulated execution ms of all admitted requests. */
  executionMs: number;
  throttled: Record<ThrottleCode, number>;
}

interface Slot {
  at: number;
  execMs: number;
}

interface UserState {
  window: Slot[];
  start: number;
  execSum: number;
  inFlight: number;
  /** Real time before which a retry ignores our Retry-After. */
  blockedUntil: number;
  /** Grows while the client keeps coming back early; reset by an admitted request. */
  pressure: number;
}

export class ServiceProtection {
  readonly options: ThrottleOptions;
  private readonly users = new Map<string, UserState>();
  private readonly totals: ThrottleStats = {
    requests: 0,
    operations: 0,
    executionMs: 0,
    throttled: { [ThrottleCodes.requests]: 0, [ThrottleCodes.executionTime]: 0, [ThrottleCodes.concurrency]: 0 },
  };

  constructor(options: ThrottleOptionsInput | undefined, private readonly now: () => number) {
    this.options = resolveThrottleOptions(options);
  }

  admit(req: AdmitRequest): Admission {
    const o = this.options;
    const user = this.user(req.userId);
    const at = this.now();
    this.prune(user, at);
    const execMs = executionCostMs(o.cost, req.kind, req.operations, req.method);
    if (o.enabled) {
      const refusal = this.check(user, at);
      if (refusal) return { admitted: false, response: this.refuse(req.userId, user, at, refusal.code, refusal.waitRealMs) };
    }
    user.window.push({ at, execMs });
    user.execSum += execMs;
    user.inFlight += 1;
    user.pressure = 0;
    this.totals.requests += 1;
    this.totals.operations += Math.max(1, req.operations);
    this.totals.executionMs += execMs;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      user.inFlight -= 1;
    };
    if (!o.enabled) return { admitted: true, latencyMs: 0, executionMs: 0, release };
    return { admitted: true, latencyMs: o.cost.latencyMs / o.timeScale, executionMs: execMs / o.timeScale, release };
  }

  /** The monitoring headers Dataverse puts on every response. */
  headers(userId: string): Record<string, string> {
    const o = this.options;
    const user = this.user(userId);
    this.prune(user, this.now());
    const count = user.window.length - user.start;
    return {
      "x-ms-dop-hint": String(o.dopHint),
      "x-ms-ratelimit-burst-remaining-xrm-requests": String(Math.max(0, o.maxRequests - count)),
      // Remaining combined execution time in (simulated) milliseconds.
      "x-ms-ratelimit-time-remaining-xrm-requests": String(Math.max(0, Math.round(o.maxExecutionMs - user.execSum))),
    };
  }

  stats(): ThrottleStats {
    return { ...this.totals, throttled: { ...this.totals.throttled } };
  }

  private check(user: UserState, at: number): { code: ThrottleCode; waitRealMs: number } | undefined {
    const o = this.options;
    if (user.inFlight >= o.maxConcurrent) return { code: ThrottleCodes.concurrency, waitRealMs: 1000 / o.timeScale };
    const windowReal = this.windowRealMs();
    const count = user.window.length - user.start;
    if (count >= o.maxRequests) {
      // Enough of the oldest requests must leave the window to get back under the limit.
      const freeing = user.window[user.start + (count - o.maxRequests)];
      return { code: ThrottleCodes.requests, waitRealMs: freeing.at + windowReal - at };
    }
    if (user.execSum >= o.maxExecutionMs) {
      let sum = user.execSum;
      for (let i = user.start; i < user.window.length; i++) {
        sum -= user.window[i].execMs;
        if (sum < o.maxExecutionMs) return { code: ThrottleCodes.executionTime, waitRealMs: user.window[i].at + windowReal - at };
      }
    }
    return undefined;
  }

  private refuse(userId: string, user: UserState, at: number, code: ThrottleCode, waitRealMs: number): EmuResponse {
    const o = this.options;
    // A client that comes back before the advertised time is told to wait longer each time.
    if (at < user.blockedUntil) user.pressure = Math.min(user.pressure + 1, 16);
    const baseSeconds = Math.max(1, Math.ceil((Math.max(0, waitRealMs) * o.timeScale) / 1000));
    const retryAfter = Math.max(baseSeconds, Math.min(baseSeconds * 2 ** user.pressure, o.windowSeconds));
    const retryRealMs = Math.ceil((retryAfter * 1000) / o.timeScale);
    user.blockedUntil = at + retryRealMs;
    this.totals.throttled[code] += 1;
    return {
      status: 429,
      headers: {
        "content-type": "application/json; odata.metadata=minimal",
        "odata-version": "4.0",
        "retry-after": String(retryAfter),
        "x-emulator-retry-after-ms": String(retryRealMs),
        ...this.headers(userId),
      },
      body: JSON.stringify({ error: { code, message: this.message(code) } }),
    };
  }

  private message(code: ThrottleCode): string {
    const o = this.options;
    switch (code) {
      case ThrottleCodes.requests:
        return `Number of requests exceeded the limit of ${o.maxRequests} over time window of ${o.windowSeconds} seconds.`;
      case ThrottleCodes.executionTime:
        return `Combined execution time of incoming requests exceeded limit of ${o.maxExecutionMs.toLocaleString("en-US")}  milliseconds over time window of ${o.windowSeconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`;
      case ThrottleCodes.concurrency:
        return `Number of concurrent requests exceeded the limit of ${o.maxConcurrent}.`;
    }
  }

  private windowRealMs(): number {
    return (this.options.windowSeconds * 1000) / this.options.timeScale;
  }

  private user(userId: string): UserState {
    let user = this.users.get(userId);
    if (!user) {
      user = { window: [], start: 0, execSum: 0, inFlight: 0, blockedUntil: 0, pressure: 0 };
      this.users.set(userId, user);
    }
    return user;
  }

  private prune(user: UserState, at: number): void {
    const horizon = at - this.windowRealMs();
    while (user.start < user.window.length && user.window[user.start].at <= horizon) {
      user.execSum -= user.window[user.start].execMs;
      user.start += 1;
    }
    if (user.start > 1024 && user.start * 2 > user.window.length) {
      user.window = user.window.slice(user.start);
      user.start = 0;
    }
    if (user.start === user.window.length) user.execSum = 0; // no float drift once the window is empty
  }
}
