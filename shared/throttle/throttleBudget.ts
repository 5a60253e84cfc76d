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
}

/** One admitted request: tell it what the request took, so the budget and the estimate are corrected. */
export interface BudgetReservation {
  readonly estimateMs: number;
  /** `learn: false` for attempts that did not run normally (429, network error): charged, not learned from. */
  settle(observedMs: number, options?: { learn?: boolean }): Promise<void>;
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
  private readonly counters: BudgetStats = { granted: 0, conflicts: 0, waitedMs: 0, reservedMs: 0, observedMs: 0 };

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
        return { estimateMs, settle: (observedMs, options) => this.settle(cost, lease, estimateMs, observedMs, options?.learn ?? true) };
      }
      // One lease at a time per process; the others wait for it and then look again.
      this.leasing ??= this.lease(estimateMs).finally(() => (this.leasing = undefined));
      await this.leasing;
    }
  }

  /** A 429 with this Retry-After (real ms): everyone using the identity holds off until it passes. */
  async penalize(retryAfterMs: number): Promise<void> {
    const until = this.clock.now() + Math.max(0, retryAfterMs);
    if (until > this.blockedUntil) this.blockedUntil = until;
    await this.update((row) => (row.blockedUntil >= until ? undefined : { ...row, blockedUntil: until }));
  }

  stats(): BudgetStats {
    return { ...this.counters };
  }

  private get span(): number {
    // The server counts a request from when it arrives, a little after we grant it: keep a margin.
    return this.options.windowMs * (1 + WINDOW_MARGIN) + WINDOW_MARGIN_MS;
  }

  private async lease(estimateMs: number): Promise<void> {
    const { maxRequests } = this.options;
    const maxExec = this.maxExec;
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

/** Identities never appear in storage as such: a short hash is the partition key. */
export function budgetKey(identity: string): string {
  return `id-${createHash("sha256").update(identity).digest("hex").slice(0, 32)}`;
}
