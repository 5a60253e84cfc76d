import { createHash } from "node:crypto";
import { systemClock } from "../http/clock.js";
import type { Clock } from "../ports.js";
import type { BudgetRow, BudgetStore } from "./budgetStore.js";

export interface ThrottleBudgetOptions {
  store: BudgetStore;
  /** The Dataverse identity (client id or user id); hashed before it is stored. */
  identity: string;
  /** Requests all processes together may send per window (Dataverse: 6,000 per 300 s per user). */
  maxRequests: number;
  /** Window length in real ms. */
  windowMs: number;
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
}

/** Share of the window added as slack against clock skew and request latency. */
const WINDOW_MARGIN = 0.05;

/**
 * A per-identity request budget shared by every process through one store row: requests are
 * leased in small blocks over a sliding window (never more than `maxRequests` in any window),
 * and a 429's Retry-After seen by any process blocks all of them until it passes, so scaled-out
 * workers stop hammering together instead of each learning the limit on its own.
 */
export class ThrottleBudget {
  private readonly clock: Clock;
  private readonly key: string;
  private readonly leaseSize: number;
  private tokens = 0;
  private leaseEnd = 0;
  private blockedUntil = 0;
  private leasing: Promise<void> | undefined;
  private readonly counters: BudgetStats = { granted: 0, conflicts: 0, waitedMs: 0 };

  constructor(private readonly options: ThrottleBudgetOptions) {
    if (!(options.maxRequests >= 1) || !(options.windowMs > 0)) throw new RangeError("throttle budget needs maxRequests >= 1 and windowMs > 0");
    this.clock = options.clock ?? systemClock;
    this.key = budgetKey(options.identity);
    // The row keeps one entry per lease in the window: at most ~240, well inside a Table property.
    this.leaseSize = Math.max(1, Math.min(options.leaseSize ?? Math.max(4, Math.ceil(options.maxRequests / 240)), options.maxRequests));
  }

  /** Waits until this process may send one request. */
  async acquire(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      if (this.blockedUntil > now) {
        await this.wait(this.blockedUntil - now);
        continue;
      }
      if (this.tokens > 0 && now < this.leaseEnd) {
        this.tokens -= 1;
        this.counters.granted += 1;
        return;
      }
      // One lease at a time per process; the others wait for it and then look again.
      this.leasing ??= this.lease().finally(() => (this.leasing = undefined));
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

  private async lease(): Promise<void> {
    const { maxRequests, windowMs } = this.options;
    // The server counts a request from when it arrives, a little after we grant it: keep a margin.
    const span = windowMs * (1 + WINDOW_MARGIN);
    let sleepMs = 0;
    await this.update((row, now) => {
      sleepMs = 0;
      if (row.blockedUntil > now) {
        this.blockedUntil = Math.max(this.blockedUntil, row.blockedUntil);
        return undefined;
      }
      // A sliding window, as the server keeps it: only grants younger than the window count.
      const grants = row.grants.filter(([at]) => at > now - span);
      const used = grants.reduce((sum, [, n]) => sum + n, 0);
      const grant = Math.min(this.leaseSize, maxRequests - used);
      if (grant <= 0) {
        let freed = 0;
        for (const [at, n] of grants) {
          freed += n;
          if (used - freed < maxRequests) {
            sleepMs = Math.max(1, at + span - now);
            break;
          }
        }
        return undefined;
      }
      return { blockedUntil: row.blockedUntil, grants: [...grants, [now, grant]], grant };
    }, (written) => {
      this.tokens = written.grant ?? 0;
      this.leaseEnd = written.grants[written.grants.length - 1][0] + windowMs;
    });
    if (sleepMs > 0) await this.wait(sleepMs);
  }

  /** Read-modify-write with the store's ETag until it sticks; `change` returning undefined writes nothing. */
  private async update(change: (row: BudgetRow, now: number) => (BudgetRow & { grant?: number }) | undefined, onWritten?: (row: BudgetRow & { grant?: number }) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { row, etag } = await this.options.store.read(this.key);
      const next = change(row, this.clock.now());
      if (!next) return;
      const { grant: _grant, ...stored } = next;
      if (await this.options.store.write(this.key, stored, etag)) return onWritten?.(next);
      this.counters.conflicts += 1;
      // Spread the losers out a little so they do not collide again on the next round.
      if (attempt >= 2) await this.clock.sleep(Math.min(50, 2 ** attempt));
    }
  }

  private async wait(ms: number): Promise<void> {
    this.counters.waitedMs += ms;
    await this.clock.sleep(ms);
  }
}

/** Identities never appear in storage as such: a short hash is the partition key. */
export function budgetKey(identity: string): string {
  return `id-${createHash("sha256").update(identity).digest("hex").slice(0, 32)}`;
}
