/**
 * Service protection as Dataverse documents it (dataverse-web-api.md §6): per user PER WEB SERVER,
 * a sliding window of `windowSeconds` with at most `maxRequests` requests and `maxExecutionMs`
 * combined execution time, plus a concurrency cap that fails at once. A `$batch` or bulk message is
 * ONE request but brings its whole execution time. Time is simulated: see throttleModel.ts.
 *
 * Several servers (`servers`, default 1): each keeps its own windows. A request goes to the server
 * its `ARRAffinity` cookie names; without one, to the server with the fewest requests in flight
 * (round robin among equals), and the answer sets the cookie, as the real service does (PAR).
 *
 * Execution time is charged AS IT IS SPENT (each running request adds to the window while it runs),
 * and a user's running requests on one server share `executionSlots` of execution (the window's
 * limit as a rate: 1,200 s per 300 s is 4 requests running at full speed; with 8 running, each runs
 * at half speed). So no client, whatever the size of its calls or its concurrency, gets more
 * execution per window than the limit (an ASSUMED model; see docs/benchmark.md, "Several web servers").
 */
import { createHash } from "node:crypto";
import type { EmuResponse } from "./types.js";
import {
  executionCostMs,
  executionSlots,
  resolveThrottleOptions,
  type RequestKind,
  type ThrottleOptions,
  type ThrottleOptionsInput,
} from "./throttleModel.js";

export { ceilingRecordsPerSecond, DEFAULT_COST, DEFAULT_THROTTLE, executionSlots } from "./throttleModel.js";
export type { CostModel, RequestKind, ThrottleOptions, ThrottleOptionsInput } from "./throttleModel.js";

export const ThrottleCodes = {
  requests: "0x80072322",
  executionTime: "0x80072321",
  concurrency: "0x80072326",
} as const;
export type ThrottleCode = (typeof ThrottleCodes)[keyof typeof ThrottleCodes];

export type Admission =
  | {
      admitted: true;
      /** The server that took the request (0-based). */
      server: number;
      /** Real ms of latency and of execution (at full speed) this request takes. */
      latencyMs: number;
      executionMs: number;
      /** Waits the latency, then executes in one of the user's slots on its server (charged as spent). */
      run(): Promise<void>;
      release(): void;
    }
  | { admitted: false; server: number; response: EmuResponse; /** Real ms the Retry-After stands for. */ retryRealMs: number };

export interface AdmitRequest {
  userId: string;
  kind: RequestKind;
  operations: number;
  /** Lets a single GET cost `readMs` instead of `writeMs`. */
  method?: string;
  /** The server chosen by `route` (default 0). */
  server?: number;
}

export interface ThrottleStats {
  requests: number;
  operations: number;
  /** Simulated execution ms of all admitted requests. */
  executionMs: number;
  throttled: Record<ThrottleCode, number>;
  /** Requests admitted per server. */
  perServer: number[];
}

/** A stretch of real time in which the user's requests on a server executed at `rate` full-speed requests. */
interface Segment {
  from: number;
  /** undefined while it lasts. */
  to: number | undefined;
  rate: number;
}

/** A running request: real ms of execution at full speed still to go. */
interface Job {
  remaining: number;
  done: () => void;
}

interface UserState {
  /** Admission times of the requests in the window (real ms). */
  requests: number[];
  start: number;
  segments: Segment[];
  jobs: Job[];
  /** Real time the jobs' `remaining` was last brought up to date. */
  lastAt: number;
  timer: NodeJS.Timeout | undefined;
  inFlight: number;
  /** Real time before which a retry ignores our Retry-After. */
  blockedUntil: number;
  /** Grows while the client keeps coming back early; reset by an admitted request. */
  pressure: number;
}

export const AFFINITY_COOKIE = "ARRAffinity";

/** A request's server, from the load balancer; `leave()` once it is answered. */
export interface Routed {
  server: number;
  setCookie?: string[];
  leave: () => void;
}

export class ServiceProtection {
  readonly options: ThrottleOptions;
  private readonly users = new Map<string, UserState>();
  private readonly serverInFlight: number[];
  private readonly affinity: string[];
  private nextServer = 0;
  private readonly totals: ThrottleStats;

  constructor(options: ThrottleOptionsInput | undefined, private readonly now: () => number) {
    this.options = resolveThrottleOptions(options);
    const s = this.options.servers;
    this.serverInFlight = new Array<number>(s).fill(0);
    this.affinity = Array.from({ length: s }, (_, i) => createHash("sha256").update(`dataverse-emulator-server-${i}`).digest("hex"));
    this.totals = {
      requests: 0, operations: 0, executionMs: 0, perServer: new Array<number>(s).fill(0),
      throttled: { [ThrottleCodes.requests]: 0, [ThrottleCodes.executionTime]: 0, [ThrottleCodes.concurrency]: 0 },
    };
  }

  /**
   * The server a request goes to: the one its ARRAffinity cookie names, else the least busy one.
   * `setCookie` is the Set-Cookie header to answer with when the request did not carry a valid one.
   * The request counts as the server's from here until `leave()` (its answer sent), as a load
   * balancer counts what it forwarded: requests that arrive together spread instead of all going to
   * the server that was least busy before any of them.
   */
  route(cookieHeader: string | undefined): Routed {
    const pinned = affinityOf(cookieHeader);
    const known = pinned === undefined ? -1 : this.affinity.indexOf(pinned);
    const server = known >= 0 ? known : this.leastBusy();
    this.serverInFlight[server] += 1;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.serverInFlight[server] -= 1;
    };
    if (known >= 0) return { server, leave };
    const value = this.affinity[server];
    return { server, leave, setCookie: [`${AFFINITY_COOKIE}=${value};Path=/;HttpOnly;Secure`, `${AFFINITY_COOKIE}SameSite=${value};Path=/;HttpOnly;SameSite=None;Secure`] };
  }

  /** The server with the fewest requests routed to it and not yet answered (round robin among equals). */
  private leastBusy(): number {
    const n = this.affinity.length;
    let best = this.nextServer % n;
    for (let k = 1; k < n; k++) {
      const i = (this.nextServer + k) % n;
      if (this.serverInFlight[i] < this.serverInFlight[best]) best = i;
    }
    this.nextServer = (best + 1) % n;
    return best;
  }

  admit(req: AdmitRequest): Admission {
    const o = this.options;
    const server = Math.min(Math.max(0, req.server ?? 0), o.servers - 1);
    const user = this.user(req.userId, server);
    const at = this.now();
    this.prune(user, at);
    const execMs = executionCostMs(o.cost, req.kind, req.operations, req.method);
    if (o.enabled) {
      const refusal = this.check(user, at);
      if (refusal) return { admitted: false, server, ...this.refuse(req.userId, server, user, at, refusal.code, refusal.waitRealMs) };
    }
    user.requests.push(at);
    user.inFlight += 1;
    user.pressure = 0;
    this.totals.requests += 1;
    this.totals.perServer[server] += 1;
    this.totals.operations += Math.max(1, req.operations);
    this.totals.executionMs += execMs;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      user.inFlight -= 1;
    };
    if (!o.enabled) return { admitted: true, server, latencyMs: 0, executionMs: 0, run: async () => {}, release };
    const latencyMs = o.cost.latencyMs / o.timeScale;
    const executionMs = execMs / o.timeScale;
    return { admitted: true, server, latencyMs, executionMs, release, run: () => this.run(user, latencyMs, executionMs) };
  }

  /** The monitoring headers Dataverse puts on every response: the answering server's remaining budget. */
  headers(userId: string, server = 0): Record<string, string> {
    const o = this.options;
    const user = this.user(userId, Math.min(Math.max(0, server), o.servers - 1));
    const at = this.now();
    this.prune(user, at);
    const count = user.requests.length - user.start;
    return {
      "x-ms-dop-hint": String(o.dopHint),
      "x-ms-ratelimit-burst-remaining-xrm-requests": String(Math.max(0, o.maxRequests - count)),
      // Remaining combined execution time in (simulated) milliseconds.
      "x-ms-ratelimit-time-remaining-xrm-requests": String(Math.max(0, Math.round(o.maxExecutionMs - this.spentMs(user, at)))),
    };
  }

  /** Simulated execution ms this user has spent on this server in the window ending now. */
  spent(userId: string, server = 0): number {
    const user = this.user(userId, server);
    const at = this.now();
    this.prune(user, at);
    return this.spentMs(user, at);
  }

  stats(): ThrottleStats {
    return { ...this.totals, throttled: { ...this.totals.throttled }, perServer: [...this.totals.perServer] };
  }

  private async run(user: UserState, latencyMs: number, executionMs: number): Promise<void> {
    if (latencyMs > 0) await sleep(latencyMs);
    if (!(executionMs > 0)) return;
    await new Promise<void>((done) => {
      this.advance(user, this.now());
      user.jobs.push({ remaining: executionMs, done });
      this.reschedule(user);
    });
  }

  /** Full-speed requests the user's running requests make together on the server (processor sharing). */
  private rateOf(user: UserState): number {
    return Math.min(user.jobs.length, executionSlots(this.options));
  }

  /** Brings every running request's remaining time up to `now`. */
  private advance(user: UserState, now: number): void {
    const n = user.jobs.length;
    if (n > 0) {
      const progress = ((now - user.lastAt) * this.rateOf(user)) / n;
      for (const job of user.jobs) job.remaining -= progress;
    }
    user.lastAt = now;
  }

  /** After a change: ends the jobs that are done, records the new rate, and sets the timer for the next end. */
  private reschedule(user: UserState): void {
    const now = this.now();
    const finished = user.jobs.filter((j) => j.remaining <= 0.5);
    if (finished.length) user.jobs = user.jobs.filter((j) => j.remaining > 0.5);
    const rate = this.rateOf(user);
    const open = user.segments.at(-1);
    if (!open || open.to !== undefined || open.rate !== rate) {
      if (open && open.to === undefined) open.to = now;
      if (rate > 0) user.segments.push({ from: now, to: undefined, rate });
    }
    if (user.timer) clearTimeout(user.timer);
    user.timer = undefined;
    if (user.jobs.length) {
      const next = Math.min(...user.jobs.map((j) => j.remaining)) * (user.jobs.length / rate);
      user.timer = setTimeout(() => {
        this.advance(user, this.now());
        this.reschedule(user);
      }, Math.max(0, Math.ceil(next)));
    }
    for (const job of finished) job.done();
  }

  private check(user: UserState, at: number): { code: ThrottleCode; waitRealMs: number } | undefined {
    const o = this.options;
    if (user.inFlight >= o.maxConcurrent) return { code: ThrottleCodes.concurrency, waitRealMs: 1000 / o.timeScale };
    const windowReal = this.windowRealMs();
    const count = user.requests.length - user.start;
    if (count >= o.maxRequests) {
      // Enough of the oldest requests must leave the window to get back under the limit.
      const freeing = user.requests[user.start + (count - o.maxRequests)];
      return { code: ThrottleCodes.requests, waitRealMs: freeing + windowReal - at };
    }
    if (this.spentMs(user, at) >= o.maxExecutionMs - 1e-6) return { code: ThrottleCodes.executionTime, waitRealMs: this.msUntilTimeFree(user, at) };
    return undefined;
  }

  /**
   * Real ms until the window's spent time drops below the limit, if the running requests go on at
   * today's rate until they end: the spent time is piecewise linear between the points where a
   * stretch enters or leaves the window, so the crossing is found between two of them.
   */
  private msUntilTimeFree(user: UserState, at: number): number {
    const w = this.windowRealMs();
    const limit = this.options.maxExecutionMs;
    const plannedTo = this.plannedEnd(user, at);
    const points = new Set<number>([at]);
    for (const g of user.segments) for (const p of [g.from, g.to ?? plannedTo]) if (p + w > at) points.add(p + w);
    const sorted = [...points].sort((a, b) => a - b);
    let prev = at;
    let prevSpent = this.spentMs(user, at, plannedTo);
    for (const t of sorted.slice(1)) {
      const spent = this.spentMs(user, t, plannedTo);
      if (spent < limit) return prev - at + ((t - prev) * (prevSpent - limit)) / Math.max(1e-9, prevSpent - spent) + 1;
      prev = t;
      prevSpent = spent;
    }
    return w;
  }

  /** When the running requests would all be done at today's rate (real ms). */
  private plannedEnd(user: UserState, at: number): number {
    if (!user.jobs.length) return at;
    const elapsed = at - user.lastAt;
    const perJob = this.rateOf(user) / user.jobs.length;
    return at + Math.max(0, Math.max(...user.jobs.map((j) => j.remaining)) / perJob - elapsed);
  }

  /** Simulated ms spent in the window ending at `at`; a stretch still going counts up to `at`, or to `openTo` when given. */
  private spentMs(user: UserState, at: number, openTo?: number): number {
    const from = at - this.windowRealMs();
    let real = 0;
    for (const g of user.segments) {
      const end = Math.min(at, g.to ?? openTo ?? at);
      real += Math.max(0, end - Math.max(from, g.from)) * g.rate;
    }
    return real * this.options.timeScale;
  }

  private refuse(userId: string, server: number, user: UserState, at: number, code: ThrottleCode, waitRealMs: number): { response: EmuResponse; retryRealMs: number } {
    const o = this.options;
    // A client that comes back before the advertised time is told to wait longer each time.
    if (at < user.blockedUntil) user.pressure = Math.min(user.pressure + 1, 16);
    // Retry-After is delay-seconds, a whole number (RFC 9110 §10.2.3), in the service's (simulated) seconds.
    const baseSeconds = Math.max(1, Math.ceil((Math.max(0, waitRealMs) * o.timeScale) / 1000));
    const retryAfter = Math.max(baseSeconds, Math.min(baseSeconds * 2 ** user.pressure, o.windowSeconds));
    const retryRealMs = Math.ceil((retryAfter * 1000) / o.timeScale);
    user.blockedUntil = at + retryRealMs;
    this.totals.throttled[code] += 1;
    return {
      retryRealMs,
      response: {
        status: 429,
        headers: {
          "content-type": "application/json; odata.metadata=minimal",
          "odata-version": "4.0",
          "retry-after": String(retryAfter),
          ...this.headers(userId, server),
        },
        body: JSON.stringify({ error: { code, message: this.message(code) } }),
      },
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

  private user(userId: string, server: number): UserState {
    const key = `${server}|${userId}`;
    let user = this.users.get(key);
    if (!user) {
      user = { requests: [], start: 0, segments: [], jobs: [], lastAt: 0, timer: undefined, inFlight: 0, blockedUntil: 0, pressure: 0 };
      this.users.set(key, user);
    }
    return user;
  }

  private prune(user: UserState, at: number): void {
    const horizon = at - this.windowRealMs();
    while (user.start < user.requests.length && user.requests[user.start] <= horizon) user.start += 1;
    if (user.start > 1024 && user.start * 2 > user.requests.length) {
      user.requests = user.requests.slice(user.start);
      user.start = 0;
    }
    if (user.segments.length > 0 && user.segments[0].to !== undefined && user.segments[0].to <= horizon) {
      user.segments = user.segments.filter((g) => g.to === undefined || g.to > horizon);
    }
  }
}

/** The ARRAffinity value of a Cookie header, if any. */
function affinityOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === AFFINITY_COOKIE) return value.join("=");
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
