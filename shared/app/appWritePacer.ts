/**
 * Paces the App Sync API's writes to what the app accepts. The API has no batch write (one POST per
 * record, product.md), so a load sends its writes side by side; an app behind a rate limit answers
 * the ones over it with 429 and Retry-After. A 429 then:
 * - holds every write of this client until its Retry-After has passed, not only the refused one
 *   (which the HttpClient retries after the same wait);
 * - the first one sets the pace to the writes the app accepted in the second before it, less 10 %,
 *   so the next second does not run into the limit again; writes then go out evenly spaced. A burst
 *   of 429s (writes that were in flight together) counts once.
 * While writes wait for the pace and no 429 comes for a while (10 s at first), the pace is raised
 * by 5 % (at least one write a second), so a limit that was raised, or learned low, is found again.
 * A 429 at a raised pace goes back to the last pace that held, and the next raise waits twice as
 * long (up to 5 minutes): each probe costs a Retry-After of all writes, so a steady limit is probed
 * ever more rarely. A 429 at a pace that held lowers it by 5 %. Before the first 429 nothing is paced.
 *
 * Time is the client's Clock. The pace is this process's: other processes writing to the same app
 * learn their own.
 */
import type { AttemptGate, HttpResponse } from "../http/httpClient.js";
import { parseRetryAfter } from "../http/retryAfter.js";
import type { Clock } from "../ports.js";

const WINDOW_MS = 1000;
const STEP = 0.05;
/** Below what the app accepted before its first 429: room for the delays of requests on their way. */
const FIRST_MARGIN = 0.1;
const FIRST_RAISE_AFTER_MS = 10_000;
const LONGEST_RAISE_AFTER_MS = 300_000;
/** Slots a late start may catch up on (a busy event loop wakes it late; the per-second window still bounds them). */
const CATCH_UP_SLOTS = 2;
/** Without a Retry-After, a 429 holds the writes this long. */
const DEFAULT_PAUSE_MS = 1000;

export class AppWritePacer implements AttemptGate {
  private pausedUntil = 0;
  /** Writes per second, learned from the first 429; undefined: not paced. */
  private pace: number | undefined;
  /** The last pace no 429 answered for a whole raise interval. */
  private held: number | undefined;
  private raiseAfterMs = FIRST_RAISE_AFTER_MS;
  private lastChangeAt = 0;
  private lastThrottledAt = Number.NEGATIVE_INFINITY;
  private nextSlotAt = Number.NEGATIVE_INFINITY;
  private waited = false;
  private readonly started = new TimeWindow(WINDOW_MS);
  private readonly accepted = new TimeWindow(WINDOW_MS);
  /** 429s seen, and how often writes waited for the pace or a Retry-After. */
  readonly stats = { throttled: 0, waits: 0 };

  constructor(private readonly clock: Clock) {}

  /** The learned pace in writes per second; undefined before the first 429. */
  get writesPerSecond(): number | undefined {
    return this.pace;
  }

  async run<T>(attempt: () => Promise<T>): Promise<T> {
    await this.admit();
    const res = await attempt();
    if (isResponse(res)) {
      const now = this.clock.now();
      if (res.status === 429) this.throttled(parseRetryAfter(res.headers.get("retry-after"), now), now);
      else if (res.status < 400) this.accepted.add(now);
    }
    return res;
  }

  private async admit(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      this.raise(now);
      let until = this.pausedUntil;
      if (this.pace !== undefined) {
        const allowed = Math.max(1, Math.floor(this.pace));
        this.started.trim(now - WINDOW_MS);
        // The slot frees when enough of the second's earlier starts have left it.
        if (this.started.size >= allowed) until = Math.max(until, this.started.at(this.started.size - allowed) + WINDOW_MS);
        // Evenly spaced, not a second's writes at once: a burst arrives spread by the network and
        // the app's own delays, and its tail would count in the app's next second. Slots follow a
        // schedule, so a wake-up that came late (a busy event loop) does not slow the pace down.
        until = Math.max(until, this.nextSlotAt);
      }
      if (until <= now) {
        this.started.add(now);
        if (this.pace !== undefined) {
          // A start a little late keeps to the schedule; one much later (a pause, a quiet spell) starts it anew.
          const spacing = WINDOW_MS / this.pace;
          this.nextSlotAt = (now - this.nextSlotAt <= CATCH_UP_SLOTS * spacing ? this.nextSlotAt : now) + spacing;
        }
        return;
      }
      this.waited = true;
      this.stats.waits += 1;
      await this.clock.sleep(until - now);
    }
  }

  private throttled(retryAfterMs: number | undefined, now: number): void {
    this.stats.throttled += 1;
    this.pausedUntil = Math.max(this.pausedUntil, now + (retryAfterMs ?? DEFAULT_PAUSE_MS));
    // The other writes that were in flight with this one are the same burst.
    if (now - this.lastThrottledAt < WINDOW_MS) return;
    this.lastThrottledAt = now;
    if (this.pace === undefined) {
      this.accepted.trim(now - WINDOW_MS);
      this.pace = Math.max(1, this.accepted.size * (1 - FIRST_MARGIN));
    } else if (this.held !== undefined && this.pace > this.held) {
      // The raise found the limit: back to the pace that held, and probe again later.
      this.pace = this.held;
      this.raiseAfterMs = Math.min(LONGEST_RAISE_AFTER_MS, this.raiseAfterMs * 2);
    } else {
      this.pace = Math.max(1, this.pace * (1 - STEP));
      this.held = undefined;
    }
    this.lastChangeAt = now;
    this.waited = false;
  }

  private raise(now: number): void {
    if (this.pace === undefined || !this.waited || now - this.lastChangeAt < this.raiseAfterMs) return;
    // This pace held for the whole interval: it is the one to come back to.
    if (this.held === undefined || this.pace > this.held) {
      if (this.held !== undefined) this.raiseAfterMs = FIRST_RAISE_AFTER_MS;
      this.held = this.pace;
    }
    this.pace = Math.max(this.pace + 1, this.pace * (1 + STEP));
    this.lastChangeAt = now;
    this.waited = false;
  }
}

function isResponse(v: unknown): v is HttpResponse {
  return typeof v === "object" && v !== null && typeof (v as HttpResponse).status === "number" && (v as HttpResponse).headers instanceof Headers;
}

/**
 * Times in ascending order within the last `spanMs` (each add drops what fell out, so an app that
 * never answers 429 does not grow it); compacted now and then, not on every trim.
 */
export class TimeWindow {
  private times: number[] = [];
  private head = 0;

  constructor(private readonly spanMs: number) {}

  get size(): number {
    return this.times.length - this.head;
  }

  at(i: number): number {
    return this.times[this.head + i];
  }

  add(t: number): void {
    this.times.push(t);
    this.trim(t - this.spanMs);
  }

  trim(before: number): void {
    while (this.head < this.times.length && this.times[this.head] <= before) this.head += 1;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
