import { createHash } from "node:crypto";
import { systemClock } from "../http/clock.js";
import type { Clock } from "../ports.js";
import type { BudgetRow, BudgetStore, Grant, SeenServer, ServerDecision } from "./budgetStore.js";
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
   * `maxServers` times them: the budget learns how many from its answers (how many distinct servers
   * answered, by their `ARRAffinity` cookie, and their `x-ms-ratelimit-burst-remaining-xrm-requests`),
   * and steps back on a 429 (default 8; 1 keeps one server's limits).
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
  /**
   * The answer's `x-ms-ratelimit-time-remaining-xrm-requests`, in the clock's ms. Not used for the
   * server count: a request's duration holds more than the server's execution (latency, and at one
   * server the requests it shares the server's execution with), so time read one server as two.
   */
  timeRemainingMs?: number;
  /**
   * Which web server answered: the value of the answer's `ARRAffinity` cookie (Set-Cookie), an
   * opaque id. The product never sends the cookie back (affinity stays off); distinct values show
   * how many servers its requests reached.
   */
  server?: string;
  /**
   * The request was refused (429). The budget steps down one server for it, unless it already
   * stepped down after this request was granted: the refusals of one burst (every request sent
   * before the step hears its 429 together) are one overload, not one each.
   */
  refused?: boolean;
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
 * The server count is the ratio of the window's sums (ServerEstimate) taken from its whole part up
 * from here: at one server the ratio cannot exceed 1 / (1 - ARRIVAL_SHARE) = 1.11, so one server
 * is never read as two (that takes 1.7); at S servers evenly used it is about S, and 3.7 reads as 4.
 */
const SERVER_ROUND_UP = 0.7;
/**
 * This process's requests count against an answer only when sent at least this share of the
 * window before it (or the budget's slack, when longer), so each of them had reached the server
 * when it answered, whatever a loaded machine, a large body or a slow network added to the way;
 * the count is scaled back to the whole window (by at most 1 / (1 - ARRIVAL_SHARE)).
 */
const ARRIVAL_SHARE = 0.1;
/** Answers in the window that a learned count of n needs (at least), before it is raised to n. */
const EVIDENCE_PER_SERVER = 2;
/**
 * Answers lower the learned count only when this process sent at least this many requests per
 * server learned in the window before each of them: with fewer, the answered request (counted on
 * both sides) and the rounding read four servers as three, and an idle window read them as one.
 */
const INFORMATIVE_PER_SERVER = 4;
/**
 * The budget grants at most 1 / PACE of the window's execution time within any 1 / PACE of the
 * window. A server executes a user's requests at a bounded rate (Dataverse: 1,200 s of execution per
 * 300 s, four at once on average), so the window's whole allowance granted at once only queues the
 * calls at the server: they last longer, the window's time is spent in its first part, and the rest
 * of it is idle (measured: 50 bulk calls under way at once, then 30 s with none). Paced, the calls
 * under way settle at what the servers execute, and a fresh window ramps up over its first part.
 */
const PACE = 4;
/** Distinct servers (ARRAffinity values) count for this many windows after their last answer. */
const SERVER_SEEN_WINDOWS = 5;
/** The row keeps the newest this many × maxServers servers seen (a server replaced by another stays until it ages out). */
const SEEN_KEPT = 2;

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
  /** Requests (and their estimated execution ms) waiting for the next lease: it is sized for all of them. */
  private demand = { requests: 0, executionMs: 0 };
  /** Corrections waiting for the row, written together by one update (`record`). */
  private corrections: Grant[] = [];
  private nextWrite: Promise<void> | undefined;
  private writes: Promise<void> = Promise.resolve();
  /** Aborted when this process gives time back, so its own waiters look again instead of sleeping a window. */
  private wakeup = new AbortController();
  private readonly counters: BudgetStats = { granted: 0, conflicts: 0, waitedMs: 0, reservedMs: 0, observedMs: 0, servers: 1 };
  private readonly servers: ServerEstimate;
  /** The row's grants as last read: what every process sharing the budget was granted. */
  private seenGrants: readonly Grant[] = [];
  /** Request tokens this process put into the row ([at, tokens, 0]; give-backs negative), for telling the others' apart. */
  private own: Grant[] = [];

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
    this.servers = new ServerEstimate(options.windowMs, this.span - options.windowMs, Math.max(1, Math.floor(options.maxServers ?? 8)), options.maxRequests, (from, until) => this.othersRequests(from, until));
  }

  /** Web servers' limits the identity may use now: 1 until its answers show its requests spread over more. */
  get serverCount(): number {
    return this.servers.current(this.clock.now());
  }

  /**
   * Requests the servers execute at once at full speed: one server's execution per window over the
   * window (Dataverse: 1,200 s / 300 s = 4) times the servers learned; 1 when time is not metered.
   */
  executionsAtOnce(): number {
    return this.maxExec ? Math.max(1, Math.floor(this.maxExec / this.options.windowMs)) * this.serverCount : 1;
  }

  /**
   * Whether a cheap request sent now would likely name a web server not seen yet: the caller sends
   * one (Dataverse: `WhoAmI`) when this says yes, and asks again once it is answered. Each yes counts
   * as one probe. See ServerEstimate.probe.
   */
  probe(): boolean {
    return this.servers.probe(this.clock.now());
  }

  /** Execution ms a request of this kind is expected to take now (0 when time is not metered). */
  estimate(cost: RequestCost = {}): number {
    return this.maxExec ? Math.min(this.estimator.estimate(cost), this.maxExec) : 0;
  }

  /** Waits until this process may send one request of this cost; settle the reservation when it is answered. */
  async acquire(cost: RequestCost = {}): Promise<BudgetReservation> {
    for (;;) {
      // Estimated again on every look: answers that came in while this request waited (the first of
      // a kind, replacing the cold guess) price it as they price a request arriving now.
      const estimateMs = this.estimate(cost);
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
            if (options?.refused) this.servers.refused(this.clock.now(), run.at);
            if (!learn) this.servers.unsent(run);
            else this.learnServers(run, options);
            return this.settle(cost, lease, estimateMs, observedMs, learn);
          },
        };
      }
      // One lease at a time per process; the others wait for it and then look again.
      this.demand.requests += 1;
      this.demand.executionMs += estimateMs;
      try {
        this.leasing ??= this.lease(estimateMs).finally(() => (this.leasing = undefined));
        await this.leasing;
      } finally {
        this.demand.requests -= 1;
        this.demand.executionMs -= estimateMs;
      }
    }
  }

  /** A 429 with this Retry-After (real ms): everyone using the identity holds off until it passes. */
  async penalize(retryAfterMs: number): Promise<void> {
    const now = this.clock.now();
    const until = now + Math.max(0, retryAfterMs);
    if (until > this.blockedUntil) this.blockedUntil = until;
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
    // What is left of the current lease goes back to the row with the new one, so it is not lost for the window.
    const old = this.current;
    this.current = undefined;
    // Taken before the row is read: time given back after this read (a settle's wake) must cut the
    // wait short, or this lease would sleep out a window that is no longer full.
    const wakeup = this.wakeup.signal;
    let granted: Lease | undefined;
    let sleepMs = 0;
    // This process's entries in the row written (the attempt that stuck), for othersRequests.
    let mine: Grant[] = [];
    try {
      await this.update((row, now) => {
        mine = [];
        granted = undefined;
        sleepMs = 0;
        // One server's limits times the servers learned (the window's row is the identity's, all servers).
        const servers = this.servers.current(now);
        const maxRequests = this.options.maxRequests * servers;
        const maxExec = this.maxExec * servers;
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
        // Paced: at most a PACE-th of the window's execution is granted in any PACE-th of it.
        // The window's own length, not the slack-widened span: a slice of the span would hold a call
        // of a quarter window's time for longer than a quarter window (3.6 calls a window, not 4).
        const slice = this.options.windowMs / PACE;
        const recent = maxExec ? grants.filter(([at]) => at > now - slice) : [];
        const share = maxExec / PACE;
        const paced = (u: { executionMs: number }) => u.executionMs < share;
        if (maxExec && !paced(sumOf(recent))) {
          sleepMs = msUntilFree(recent, now, slice, paced);
          return undefined;
        }
        // Sized for every request waiting for it (within the pace), so a burst of calls costs one row
        // round trip, not one each; rounded up to whole requests, or the part of the pace's room that
        // no whole request fits in would be lost to the slice (three calls where 3.8 fit).
        const room = Math.min(maxExec - used.executionMs, estimateMs > 0 ? Math.ceil((share - sumOf(recent).executionMs) / estimateMs) * estimateMs : share);
        const execMs = maxExec ? Math.max(estimateMs, Math.min(Math.max(this.execQuantum, this.demand.executionMs), room)) : 0;
        // No more requests than the leased time serves: a lease's unused tokens would read, in the row,
        // as requests this process sent (the server count counts the other processes' grants).
        const served = maxExec && this.demand.executionMs > execMs ? Math.max(1, Math.ceil((this.demand.requests * execMs) / this.demand.executionMs)) : Number.POSITIVE_INFINITY;
        granted = { at: now, tokens: Math.min(Math.max(this.leaseSize, this.demand.requests), served, maxRequests - used.requests), execMs };
        this.counters.servers = servers;
        mine = [[now, granted.tokens, 0]];
        if (old && old.at > now - this.span && old.tokens !== 0) mine.push([old.at, -old.tokens, 0]);
        return { blockedUntil: row.blockedUntil, grants: compact([...grants, [now, granted.tokens, execMs]]) };
      });
      // Kept for as long as the row keeps them (a span), whether or not anything reads them.
      if (mine.length) {
        const from = this.clock.now() - 2 * this.span;
        if (this.own.length && this.own[0][0] <= from) this.own = this.own.filter(([at]) => at > from);
        this.own.push(...mine);
      }
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
    await this.record([excess > 0 ? now : lease.at, 0, excess]);
    if (excess < 0) this.wake();
  }

  /**
   * Writes a correction to the row together with the others made meanwhile: one update at a time
   * per process, each taking every correction that waited for it. (One update per answer, all on
   * one row, made this process's own updates collide: with twenty bulk calls answered close
   * together on a loaded store, an answer waited seconds for its correction, and a lease behind it.)
   */
  private record(grant: Grant): Promise<void> {
    this.corrections.push(grant);
    if (!this.nextWrite) {
      const write = this.writes.then(async () => {
        // From here on, corrections wait for the next write.
        this.nextWrite = undefined;
        const batch = this.corrections;
        this.corrections = [];
        await this.update((row, t) => {
          const fresh = batch.filter(([at]) => at > t - this.span);
          if (!fresh.length) return undefined;
          return { blockedUntil: row.blockedUntil, grants: compact([...row.grants.filter(([a]) => a > t - this.span), ...fresh]) };
        });
      });
      this.nextWrite = write;
      this.writes = write.catch(() => {});
    }
    return this.nextWrite;
  }

  /**
   * Requests the other processes sharing this budget were granted between `from` and `until`, as the
   * row last read shows them: the row's tokens dated in that span less this process's own.
   */
  private othersRequests(from: number, until: number): number {
    const inSpan = (at: number) => at > from && at <= until;
    let n = 0;
    for (const [at, tokens] of this.seenGrants) if (inSpan(at)) n += tokens;
    for (const [at, tokens] of this.own) if (inSpan(at)) n -= tokens;
    return Math.max(0, n);
  }

  /** One answer's `x-ms-ratelimit-burst-remaining-xrm-requests` against this process's requests (ServerEstimate). */
  private learnServers(run: OwnRun, options: SettleOptions | undefined): void {
    const now = this.clock.now();
    if (options?.server) this.servers.reached(now, options.server);
    if (options?.burstRemaining !== undefined) this.servers.observe(now, options.burstRemaining, run);
  }

  private wake(): void {
    this.wakeup.abort();
    this.wakeup = new AbortController();
  }

  /** Read-modify-write with the store's ETag until it sticks; `change` returning undefined writes nothing. */
  private async update(change: (row: BudgetRow, now: number) => BudgetRow | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { row, etag } = await this.options.store.read(this.key);
      this.seenGrants = row.grants;
      const now = this.clock.now();
      // What another process sharing the budget decided on the server count lately counts here too.
      if (row.servers) this.servers.adopt(row.servers, now);
      // And the servers they reached.
      if (row.seen) this.servers.hear(row.seen, now);
      const next = change(row, now);
      if (!next) return;
      const mine = this.servers.decision();
      const servers = mine && (!row.servers || mine.at > row.servers.at) ? mine : row.servers;
      if (servers) next.servers = servers;
      const seen = this.servers.seenServers(now) ?? row.seen;
      if (seen?.length) next.seen = seen;
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
 * saw in its window (`seen`). The identity's requests in the same window (`own`: this process's, and
 * what the budget's row shows granted to the other processes sharing it) are counted up to
 * ARRIVAL_SHARE of the window (or the budget's slack, when longer) before the answer, when each of
 * them had arrived, and scaled back to the whole window. At one server every one of them is in the
 * server's count, so own / seen is at most 1 / (1 - ARRIVAL_SHARE), however many run at once and
 * however long they take; with the requests spread evenly over S servers it is about S. The
 * answered request counts once on both sides (a call longer than the window has left the server's
 * count when it is answered; one answered within the share is not in `own`), and when the answers
 * name their servers it is taken out of both (see `evaluate`). Refused or failed
 * attempts are not counted (the server did not count them either).
 *
 * The estimate is the ratio of the sums over the window's answers (one server that saw a request
 * more or less than its neighbours moves the sums by one, where a ratio of a few bulk calls would
 * jump), rounded down unless within 1 - SERVER_ROUND_UP of the next whole number; it rises to n
 * only with at least EVIDENCE_PER_SERVER × n answers in the window, and falls at once. Applications
 * on the same identity outside the budget raise `seen` and lower the estimate (the safe side); the
 * processes sharing the budget do not (before their grants were counted, P of them read S / P, and
 * four processes at four servers ran at 0.6 of the ceiling with one server's count for a minute).
 * After a 429 it steps down by one (once for the refusals of one burst) and stays there for a
 * window. The estimate stands when the window's answers expire (the last evidence stands). Every
 * change is a decision that the budget's row carries to the other processes, which adopt a newer
 * one (`adopt`): a process that sends little learns what the busy ones saw.
 *
 * Request counts, not execution time: the time-remaining header compared with how long this
 * process's requests were under way overstates at one server by everything in a request's duration
 * that is not the server's execution (latency, and requests sharing the server's execution when
 * more run than it executes at full speed), so it needed a discount (÷ 1.25) that read four servers
 * as three, and still read one as two when enough requests ran at once.
 */
interface OwnRun {
  /** When it was sent (granted). */
  at: number;
}

class ServerEstimate {
  private runs: OwnRun[] = [];
  private samples: Array<[at: number, own: number, seen: number]> = [];
  private learned = 1;
  private heldUntil = 0;
  private refusedAt = Number.NEGATIVE_INFINITY;
  /** When the count last stepped down for a 429: refusals of requests granted before it are the same overload. */
  private steppedAt = Number.NEGATIVE_INFINITY;
  /** When `learned` last changed, here or in the process whose decision was adopted. */
  private decidedAt = Number.NEGATIVE_INFINITY;
  /** The count last adopted from another process, and until when it stands without servers seen here. */
  private adoptedCount = 1;
  private adoptedUntil = Number.NEGATIVE_INFINITY;
  /** Servers seen answering (ARRAffinity value → last answer), oldest first. */
  private readonly affinity = new Map<string, number>();
  /** When an answer last came from a server already seen here: the servers are then all found. */
  private repeatedAt = Number.NEGATIVE_INFINITY;
  /** When each probe of the current search was granted (`probe`). */
  private probes: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly slackMs: number,
    private readonly max: number,
    private readonly perServerRequests: number,
    /** Requests the other processes sharing the budget sent in a span: they are the identity's as much as this one's. */
    private readonly others: (from: number, until: number) => number = () => 0,
  ) {}

  /** The latest change of the count made here (or adopted), for the processes sharing the budget. */
  decision(): ServerDecision | undefined {
    return Number.isFinite(this.decidedAt) ? { count: this.learned, at: this.decidedAt } : undefined;
  }

  /**
   * Another process's newer decision: taken as this process's own, and held for a window (its
   * evidence is that process's answers, which this one has not seen).
   */
  adopt(decision: ServerDecision, now: number): void {
    // Only what the servers showed lately: a decision from a run long ago is no evidence now.
    if (this.max <= 1 || decision.at <= this.decidedAt || decision.at <= now - SERVER_SEEN_WINDOWS * this.windowMs) return;
    // A step down for another process's 429: the refusals here of requests granted before it are the same overload.
    if (decision.count < this.learned) this.steppedAt = Math.max(this.steppedAt, decision.at);
    this.learned = Math.max(1, Math.min(this.max, decision.count));
    this.decidedAt = decision.at;
    this.adoptedCount = this.learned;
    this.adoptedUntil = decision.at + SERVER_SEEN_WINDOWS * this.windowMs;
    this.samples = [];
    this.heldUntil = Math.max(this.heldUntil, Math.min(now, decision.at) + this.windowMs);
  }

  /** The learned count; it is kept when the window's samples have expired (the last evidence stands). */
  current(now: number): number {
    const before = this.learned;
    const count = this.evaluate(now);
    if (count !== before) this.decidedAt = now;
    return count;
  }

  private evaluate(now: number): number {
    this.prune(now);
    if (now < this.heldUntil) return this.learned;
    // Servers that answered lately (their ARRAffinity values): the requests reach that many, seen directly.
    // Not for a while after a 429: then only the request counters raise the count again.
    const reached = now < this.refusedAt + SERVER_SEEN_WINDOWS * this.windowMs ? 1 : Math.min(this.max, this.affinity.size);
    // Never more servers than have answered, when they say which they are (bursts of long calls
    // made the request counters read six servers at four).
    // A count adopted from another process stands for as long as servers seen here would: this
    // process may have seen fewer of them only because it sent less.
    const adopted = now < this.adoptedUntil ? this.adoptedCount : 1;
    const most = this.affinity.size ? Math.min(this.max, Math.max(adopted, this.affinity.size)) : this.max;
    this.learned = Math.min(this.learned, most);
    if (this.samples.length === 0) return (this.learned = Math.min(most, Math.max(this.learned, reached)));
    let own = 0;
    let seen = 0;
    for (const [, o, n] of this.samples) {
      own += o;
      seen += n;
    }
    // The answered request is surely at the server that answered, each other one at one of S: so
    // S = (own - 1) / (seen - 1) per answer, summed over the window's answers. (own / seen read four
    // servers as 3.4 where each saw about four of our requests a window, the benchmark's regime: the
    // processes stayed at three, or stepped down to it without a 429.) Only when the answers name
    // their servers, which caps the count at the servers seen: on counters alone an answer that saw
    // a request fewer than this model expects reads five or six servers at four, so there the plain
    // ratio (low by the answered request: the safe side). At one server neither exceeds 1.22 (own is
    // at most 1 / (1 - ARRIVAL_SHARE) of what the server saw).
    const n = this.samples.length;
    const ratio = this.affinity.size && seen > n ? (own - n) / (seen - n) : own / seen;
    const read = Math.min(most, Math.max(1, Math.floor(ratio + 1 - SERVER_ROUND_UP)));
    // Down only on answers that each had several of our requests per server learned in their window:
    // with fewer, an idle stretch reads four servers as fewer.
    if (read < this.learned && own < INFORMATIVE_PER_SERVER * this.learned * n) return this.learned;
    if (read < this.learned) return (this.learned = read);
    // Up at once to what the window's answers can show: n servers take at least 2n answers (a few
    // answers from servers that happened to see fewer than their share would read too many), or n
    // servers seen answering.
    if (read > this.learned) this.learned = Math.min(read, Math.max(this.learned, reached, Math.floor(this.samples.length / EVIDENCE_PER_SERVER)));
    return this.learned;
  }

  /** An answer from the server whose ARRAffinity cookie is `server`. */
  reached(now: number, server: string): void {
    if (this.max <= 1) return;
    const id = serverId(server);
    if (this.affinity.delete(id)) this.repeatedAt = now;
    this.affinity.set(id, now);
  }

  /**
   * Whether to send a probe now. The servers named by their cookies raise the count at once (see
   * `evaluate`), but the first answers of a load's long calls come a whole call later: at one call
   * per server per window, the load ran its first window or more at the servers found by the few
   * short requests before it (three of four in the benchmark). A few cheap requests find them
   * first. Yes while the answers have named at least one server (without the cookie a probe shows
   * nothing) and fewer than the most the budget allows, no answer has yet come from a server seen
   * before (a load balancer that sends each request to the least busy server or in turn names a
   * new one each time until all have answered; one that picks at random repeats early, and the
   * answers' counters find the rest as before), no 429 lately, and fewer probes than that most in
   * the last few windows. At one server: one probe, whose answer repeats the server.
   */
  probe(now: number): boolean {
    // Asked before every request: the usual answer (the search is over) comes before any pruning.
    const since = now - SERVER_SEEN_WINDOWS * this.windowMs;
    if (this.max <= 1 || this.repeatedAt > since || this.refusedAt > since) return false;
    this.prune(now);
    if (this.affinity.size === 0 || this.affinity.size >= this.max) return false;
    if (this.probes.length && this.probes[0] <= since) this.probes = this.probes.filter((at) => at > since);
    if (this.probes.length >= this.max) return false;
    this.probes.push(now);
    return true;
  }

  /**
   * The servers that answered the other processes sharing the budget (the row's `seen`): they are
   * the identity's servers as much as those that answered here.
   */
  hear(seen: readonly SeenServer[], now: number): void {
    if (this.max <= 1 || !seen.length) return;
    const since = now - SERVER_SEEN_WINDOWS * this.windowMs;
    let changed = false;
    for (const [id, written] of seen) {
      // Another instance's clock may run a little ahead: its answer is not newer than now here.
      const at = Math.min(written, now);
      if (at <= since || (this.affinity.get(id) ?? Number.NEGATIVE_INFINITY) >= at) continue;
      this.affinity.set(id, at);
      changed = true;
    }
    if (!changed) return;
    // Oldest first again (prune stops at the first recent one), and no more than the row keeps.
    const ordered = [...this.affinity].sort((x, y) => x[1] - y[1]).slice(-SEEN_KEPT * this.max);
    this.affinity.clear();
    for (const [id, at] of ordered) this.affinity.set(id, at);
  }

  /** What the row's `seen` should say: the servers seen here or heard of, newest last (undefined: not tracked here). */
  seenServers(now: number): SeenServer[] | undefined {
    if (this.max <= 1) return undefined;
    this.prune(now);
    return [...this.affinity].slice(-SEEN_KEPT * this.max).map(([id, at]): SeenServer => [id, at]);
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

  /** One answer to `answered`, made when the answering server had `burstRemaining` requests left. */
  observe(now: number, burstRemaining: number, answered: OwnRun): void {
    if (this.max <= 1 || !Number.isFinite(burstRemaining) || now < this.heldUntil) return;
    this.prune(now);
    const from = now - this.windowMs;
    const until = now - Math.max(this.slackMs, this.windowMs * ARRIVAL_SHARE);
    const counted = (at: number) => at > from && at <= until;
    const seen = this.perServerRequests - burstRemaining + (answered.at > from ? 0 : 1);
    if (seen < 1) return;
    let own = this.others(from, until);
    for (const r of this.runs) if (counted(r.at)) own += 1;
    // Only the answered request (or nothing) of ours in the window: no evidence of a spread either way.
    if (own < 2) return;
    // Scaled to the whole window, never by more than for ARRIVAL_SHARE (a longer slack leaves own short: the safe side).
    const scale = Math.min(this.windowMs / Math.max(1, until - from), 1 / (1 - ARRIVAL_SHARE));
    this.samples.push([now, own * scale + (counted(answered.at) ? 0 : 1), seen]);
    this.current(now);
  }

  /**
   * A 429 to a request granted at `grantedAt`: the spread was not as even as learned (or others use
   * the identity too), so one server less, unless the count already stepped down after that grant.
   */
  refused(now: number, grantedAt: number): void {
    if (grantedAt < this.steppedAt) return;
    this.steppedAt = now;
    this.learned = Math.max(1, this.current(now) - 1);
    this.decidedAt = now;
    this.adoptedUntil = Number.NEGATIVE_INFINITY;
    this.samples = [];
    this.heldUntil = now + this.windowMs;
    this.refusedAt = now;
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    for (const [server, at] of this.affinity) {
      if (at > now - SERVER_SEEN_WINDOWS * this.windowMs) break;
      this.affinity.delete(server);
    }
    // Sent in date order; one sent before the window is never counted again.
    if (this.runs.length && this.runs[0].at <= from) this.runs = this.runs.filter((r) => r.at > from);
    if (this.samples.length && this.samples[0][0] <= from) this.samples = this.samples.filter(([at]) => at > from);
  }
}

/** A server's ARRAffinity value as the row keeps it: short, and the same in every process. */
function serverId(affinity: string): string {
  return createHash("sha256").update(affinity).digest("hex").slice(0, 12);
}

/** Identities never appear in storage as such: a short hash is the partition key. */
export function budgetKey(identity: string): string {
  return `id-${createHash("sha256").update(identity).digest("hex").slice(0, 32)}`;
}
