import { createHash } from "node:crypto";
import { systemClock } from "../http/clock.js";
import type { Clock } from "../ports.js";
import type { BudgetRow, BudgetStore, Grant } from "./budgetStore.js";
import { CostEstimator, type RequestCost } from "./costEstimator.js";
import { compact, msUntilFree, sumOf } from "./grantWindow.js";

export interface ThrottleBudgetOptions {
  store: BudgetStore;
  /** The Dataverse identity (client id or user id); hashed before it is stored. */
  identity: string;
  /** Requests all processes together may send per window (Dataverse: 6,000 per 300 s per user). */
  maxRequests: number;
  /** Window length in real ms. */
  windowMs: number;
  /**
   * Combined execution time all processes together may use per window, in the clock's ms
   * (Dataverse: 1,200,000 per 300,000). Omitted: only requests are counted.
   */
  maxExecutionMs?: number;
  /** What a request of a kind not yet observed reserves (default maxExecutionMs / 4). */
  coldEstimateMs?: number;
  /** Requests taken from the shared row at a time: fewer Table round trips, a little less fairness (default max(4, maxRequests / 240)). */
  leaseSize?: number;
  clock?: Clock;
  /**
   * Fixed slack added to the window, in the clock's ms (default 100): how much the delay between our
   * grant and the server's arrival time may vary. A clock that runs scaled wants it scaled as well.
   */
  windowMarginMs?: number;
  /**
   * The limits above are one web server's (Dataverse enforces them per user per web server). With
   * affinity off, requests spread over the environment's servers, so the identity may use up to
   * `maxServers` times them: the budget learns how many from the `x-ms-ratelimit-burst-remaining-
   * xrm-requests` of its answers, and steps back on a 429 (default 8; 1 keeps one server's limits).
   */
  maxServers?: number;
}

export interface BudgetStats {
  /** Requests admitted by this process. */
  granted: number;
  /** Conditional writes that lost to another process and were retried. */
  conflicts: number;
  /** Real ms this process spent waiting for the window or a shared Retry-After. */
  waitedMs: number;
  /** Execution ms reserved by this process's requests (estimates) and what they took (observed). */
  reservedMs: number;
  observedMs: number;
  /** How many web servers' limits the budget currently allows (learned; 1 until evidence). */
  servers: number;
}

/** One admitted request: tell it what the request took, so the budget and the estimate are corrected. */
export interface BudgetReservation {
  readonly estimateMs: number;
  /**
   * `learn: false` for attempts that did not run normally (429, network error): charged, not learned
   * from. `burstRemaining`: the answer's `x-ms-ratelimit-burst-remaining-xrm-requests`.
   */
  settle(observedMs: number, options?: SettleOptions): Promise<void>;
}

export interface SettleOptions {
  learn?: boolean;
  burstRemaining?: number;
  /** The answer's `x-ms-ratelimit-time-remaining-xrm-requests`, in the clock's ms. */
  timeRemainingMs?: number;
}

interface Lease {
  at: number;
  tokens: number;
  execMs: number;
}

/**
 * Slack added to the window. The server dates a request by its arrival, a little after we grant
 * it; what matters is how much that delay VARIES between an old request and the one that replaces
 * it in the window (store write, body encoding, a new connection, clock skew between instances):
 * a share of the window plus a fixed allowance. Every round of a window-bound load pays the slack,
 * so it is kept small (it was 5 % of the window, which cost 5 % of the ceiling).
 */
const WINDOW_MARGIN = 0.01;
const WINDOW_MARGIN_MS = 100;
/**
 * The smallest ratio of the window is divided by this before it is rounded down. At one server the
 * ratio is about 1 but overstated by what a request's duration holds beyond the server's execution
 * (latency, the client's and the server's own processing: up to 30 % on a loaded machine, measured),
 * so one server is never taken for two below a ratio of 2.5; four servers read as three.
 */
const SERVER_DISCOUNT = 1.25;

/**
 * A per-identity budget shared by every process through one store row, over two dimensions of a
 * sliding window: requests (never more than `maxRequests`) and execution time. Requests and time
 * are leased in blocks; a request reserves its estimated execution time, and `settle` corrects
 * the row with what it took. A lease is granted while the window's time is below the limit, as
 * the service admits (it charges a request after admitting it): with estimates at or above the
 * real cost, the budget therefore refuses before the service would. A 429's Retry-After seen by
 * any process blocks all of them until it passes.
 */
export class ThrottleBudget {
  private readonly clock: Clock;
  private readonly key: string;
  private readonly leaseSize: number;
  private readonly maxExec: number;
  /** Time leased at least at once, and the smallest correction worth a row write. */
  private readonly execQuantum: number;
  private readonly estimator: CostEstimator;
  private current: Lease | undefined;
  private blockedUntil = 0;
  private leasing: Promise<void> | undefined;
  /** Aborted when this process gives time back, so its own waiters look again instead of sleeping a window. */
  private wakeup = new AbortController();
  private readonly counters: BudgetStats = { granted: 0, conflicts: 0, waitedMs: 0, reservedMs: 0, observedMs: 0, servers: 1 };
  private readonly servers: ServerEstimate;

  constructor(private readonly options: ThrottleBudgetOptions) {
    if (!(options.maxRequests >= 1) || !(options.windowMs > 0)) throw new RangeError("throttle budget needs maxRequests >= 1 and windowMs > 0");
    if (options.maxExecutionMs !== undefined && !(options.maxExecutionMs > 0)) throw new RangeError("throttle budget needs maxExecutionMs > 0 when given");
    this.clock = options.clock ?? systemClock;
    this.key = budgetKey(options.identity);
    // The row keeps one entry per lease in the window: at most ~240 per dimension, well inside a Table property.
    this.leaseSize = Math.max(1, Math.min(options.leaseSize ?? Math.max(4, Math.ceil(options.maxRequests / 240)), options.maxRequests));
    this.maxExec = options.maxExecutionMs ?? 0;
    this.execQuantum = this.maxExec / 240;
    this.estimator = new CostEstimator(options.coldEstimateMs ?? this.maxExec / 4);
    this.servers = new ServerEstimate(options.windowMs, this.span - options.windowMs, Math.max(1, Math.floor(options.maxServers ?? 8)), options.maxRequests);
  }

  /** Web servers' limits the identity may use now: 1 until its answers show its requests spread over more. */
  get serverCount(): number {
    return this.servers.current(this.clock.now());
  }

  /** Execution ms a request of this kind is expected to take now (0 when time is not metered). */
  estimate(cost: RequestCost = {}): number {
    return this.maxExec ? Math.min(this.estimator.estimate(cost), this.maxExec) : 0;
  }

  /** Waits until this process may send one request of this cost; settle the reservation when it is answered. */
  async acquire(cost: RequestCost = {}): Promise<BudgetReservation> {
    const estimateMs = this.estimate(cost);
    for (;;) {
      const now = this.clock.now();
      if (this.blockedUntil > now) {
        await this.wait(this.blockedUntil - now);
        continue;
      }
      const lease = this.current;
      if (lease && now < lease.at + this.options.windowMs && lease.tokens > 0 && lease.execMs >= estimateMs) {
        lease.tokens -= 1;
        lease.execMs -= estimateMs;
        this.counters.granted += 1;
        this.counters.reservedMs += estimateMs;
        const run = this.servers.sent(now);
        return {
          estimateMs,
          settle: (observedMs, options) => {
            const learn = options?.learn ?? true;
            if (!learn) this.servers.unsent(run);
            else this.learnServers(run, options);
            return this.settle(cost, lease, estimateMs, observedMs, learn);
          },
        };
      }
      // One lease at a time per process; the others wait for it and then look again.
      this.leasing ??= this.lease(estimateMs).finally(() => (this.leasing = undefined));
      await this.leasing;
    }
  }

  /** A 429 with this Retry-After (real ms): everyone using the identity holds off until it passes. */
  async penalize(retryAfterMs: number): Promise<void> {
    const now = this.clock.now();
    const until = now + Math.max(0, retryAfterMs);
    if (until > this.blockedUntil) this.blockedUntil = until;
    // Refused: the spread was not as even as learned (or others use the identity too): one server less.
    this.servers.refused(now);
    await this.update((row) => (row.blockedUntil >= until ? undefined : { ...row, blockedUntil: until }));
  }

  stats(): BudgetStats {
    return { ...this.counters, servers: this.serverCount };
  }

  private get span(): number {
    // The server counts a request from when it arrives, a little after we grant it: keep a margin.
    return this.options.windowMs * (1 + WINDOW_MARGIN) + (this.options.windowMarginMs ?? WINDOW_MARGIN_MS);
  }

  private async lease(estimateMs: number): Promise<void> {
    // One server's limits times the servers learned (the window's row is the identity's, all servers).
    const servers = this.serverCount;
    const maxRequests = this.options.maxRequests * servers;
    const maxExec = this.maxExec * servers;
    // What is left of the current lease goes back to the row with the new one, so it is not lost for the window.
    const old = this.current;
    this.current = undefined;
    // Taken before the row is read: time given back after this read (a settle's wake) must cut the
    // wait short, or this lease would sleep out a window that is no longer full.
    const wakeup = this.wakeup.signal;
    let granted: Lease | undefined;
    let sleepMs = 0;
    try {
      await this.update((row, now) => {
        granted = undefined;
        sleepMs = 0;
        if (row.blockedUntil > now) {
          this.blockedUntil = Math.max(this.blockedUntil, row.blockedUntil);
          return undefined;
        }
        // A sliding window, as the server keeps it: only grants younger than the window count.
        const grants = row.grants.filter(([at]) => at > now - this.span);
        if (old && old.at > now - this.span && (old.tokens !== 0 || old.execMs !== 0)) grants.push([old.at, -old.tokens, -old.execMs]);
        const used = sumOf(grants);
        const fits = (u: { requests: number; executionMs: number }) => u.requests < maxRequests && (!maxExec || u.executionMs < maxExec);
        if (!fits(used)) {
          sleepMs = msUntilFree(grants, now, this.span, fits);
          return undefined;
        }
        const execMs = maxExec ? Math.max(estimateMs, Math.min(this.execQuantum, maxExec - used.executionMs)) : 0;
        granted = { at: now, tokens: Math.min(this.leaseSize, maxRequests - used.requests), execMs };
        this.counters.servers = servers;
        return { blockedUntil: row.blockedUntil, grants: compact([...grants, [now, granted.tokens, execMs]]) };
      });
    } finally {
      this.current = granted ?? old;
    }
    if (sleepMs > 0) await this.wait(sleepMs, wakeup);
  }

  private async settle(cost: RequestCost, lease: Lease, estimateMs: number, observedMs: number, learn: boolean): Promise<void> {
    if (!this.maxExec || !(observedMs >= 0)) return;
    this.counters.observedMs += observedMs;
    if (learn) this.estimator.observe(cost, observedMs);
    const excess = Math.min(observedMs, this.maxExec) - estimateMs;
    if (excess === 0) return;
    const now = this.clock.now();
    const current = this.current;
    if (Math.abs(excess) < this.execQuantum) {
      // Small corrections stay in the process: a debt is taken from (a surplus given back to) the lease.
      const live = current && now < current.at + this.options.windowMs;
      if (live && (excess > 0 || current === lease)) current.execMs -= excess;
      if (excess < 0) this.wake();
      return;
    }
    // A debt counts from now; a surplus is given back dated like the lease it came from.
    const at = excess > 0 ? now : lease.at;
    await this.update((row, t) => {
      if (at <= t - this.span) return undefined;
      return { blockedUntil: row.blockedUntil, grants: compact([...row.grants.filter(([a]) => a > t - this.span), [at, 0, excess] as Grant]) };
    });
    if (excess < 0) this.wake();
  }

  /**
   * One answer's monitoring headers: the answering server's spent time (limit - time remaining)
   * against what this process's requests can have spent in the window, or, when execution time is
   * not metered, the answering server's request count against this process's requests.
   */
  private learnServers(run: OwnRun, options: SettleOptions | undefined): void {
    const now = this.clock.now();
    run.end = now;
    if (this.maxExec && options?.timeRemainingMs !== undefined) this.servers.observeTime(now, this.maxExec - options.timeRemainingMs, this.maxExec);
    else if (options?.burstRemaining !== undefined) this.servers.observe(now, options.burstRemaining);
  }

  private wake(): void {
    this.wakeup.abort();
    this.wakeup = new AbortController();
  }

  /** Read-modify-write with the store's ETag until it sticks; `change` returning undefined writes nothing. */
  private async update(change: (row: BudgetRow, now: number) => BudgetRow | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { row, etag } = await this.options.store.read(this.key);
      const next = change(row, this.clock.now());
      if (!next) return;
      if (await this.options.store.write(this.key, next, etag)) return;
      this.counters.conflicts += 1;
      // Spread the losers out a little so they do not collide again on the next round.
      if (attempt >= 2) await this.clock.sleep(Math.min(50, 2 ** attempt));
    }
  }

  private async wait(ms: number, wakeup?: AbortSignal): Promise<void> {
    if (wakeup?.aborted) return;
    const started = this.clock.now();
    try {
      await this.clock.sleep(ms, wakeup);
    } catch {
      // Woken early: time was given back; the caller looks at the row again.
    } finally {
      this.counters.waitedMs += this.clock.now() - started;
    }
  }
}

/**
 * How many web servers' limits this process's traffic can use, from the answers' request counters.
 * `x-ms-ratelimit-burst-remaining-xrm-requests` is what the ANSWERING server has left of its
 * per-user request limit, so (limit - remaining) is how many of the identity's requests that server
 * saw in its window. Every request this process sent within the window, up to `slack` ago (the
 * budget's own allowance for the delay between a grant and the server's arrival), had arrived when
 * that answer was made, so at one server the ratio own / seen is at most 1; with the requests
 * spread evenly over S servers it is about S. Refused or failed attempts are not counted (the
 * server did not count them either). The estimate is the smallest ratio of the window's answers,
 * discounted (SERVER_DISCOUNT) and rounded down. Other processes or applications on the same identity raise
 * `seen` and lower the estimate (the safe side). After a 429 it steps down by one and stays there
 * for a window.
 */
interface OwnRun {
  at: number;
  /** When it was answered; undefined while it runs. */
  end?: number;
}

class ServerEstimate {
  private runs: OwnRun[] = [];
  private samples: Array<[at: number, ratio: number]> = [];
  private learned = 1;
  private heldUntil = 0;

  constructor(private readonly windowMs: number, private readonly slackMs: number, private readonly max: number, private readonly perServerRequests: number) {}

  /** The learned count; it is kept when the window's samples have expired (the last evidence stands). */
  current(now: number): number {
    this.prune(now);
    if (now < this.heldUntil || this.samples.length === 0) return this.learned;
    // The smallest ratio of the window: overstatements (time reserved, not yet spent) pass, a window's floor does not.
    const least = Math.min(...this.samples.map(([, r]) => r));
    this.learned = Math.min(this.max, Math.max(1, Math.floor(least / SERVER_DISCOUNT)));
    return this.learned;
  }

  sent(at: number): OwnRun {
    const run: OwnRun = { at };
    if (this.max > 1) this.runs.push(run);
    return run;
  }

  /** An attempt the server refused or never answered: it is not in the server's count. */
  unsent(run: OwnRun): void {
    const i = this.runs.indexOf(run);
    if (i >= 0) this.runs.splice(i, 1);
  }

  observe(now: number, burstRemaining: number): void {
    if (this.max <= 1 || !Number.isFinite(burstRemaining)) return;
    this.prune(now);
    const seen = this.perServerRequests - burstRemaining;
    if (seen < 1 || now < this.heldUntil) return;
    const from = now - this.windowMs;
    const until = now - this.slackMs;
    let own = 0;
    for (const r of this.runs) if (r.at > from && r.at <= until) own += 1;
    this.samples.push([now, own / seen]);
    this.current(now);
  }

  /**
   * `serverMs`: what the answering server has spent of the window. This process's requests can
   * have spent at most the time each was under way within the window (sent to answered, or to now);
   * at one server that is about what the server counts (a little more: latency is in it), with the
   * requests spread evenly over S servers about S times it. Sampled only while this process used at
   * least half a server's limit in the window, so a few short requests do not count.
   */
  observeTime(now: number, serverMs: number, perServerMs: number): void {
    if (this.max <= 1 || now < this.heldUntil) return;
    this.prune(now);
    const from = now - this.windowMs;
    let own = 0;
    for (const r of this.runs) own += Math.max(0, Math.min(now, r.end ?? now) - Math.max(from, r.at));
    if (own < perServerMs / 2 || !(serverMs > perServerMs / 20)) return;
    this.samples.push([now, own / serverMs]);
    this.current(now);
  }

  refused(now: number): void {
    this.learned = Math.max(1, this.current(now) - 1);
    this.samples = [];
    this.heldUntil = now + this.windowMs;
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    if (this.runs.length && this.runs.some((r) => r.end !== undefined && r.end <= from)) this.runs = this.runs.filter((r) => r.end === undefined || r.end > from);
    if (this.samples.length && this.samples[0][0] <= from) this.samples = this.samples.filter(([at]) => at > from);
  }
}

/** Identities never appear in storage as such: a short hash is the partition key. */
export function budgetKey(identity: string): string {
  return `id-${createHash("sha256").update(identity).digest("hex").slice(0, 32)}`;
}
