/**
 * Paging guards for one read of a change feed (the app's `/changes`, Dataverse change tracking and
 * queries). A peer that keeps answering "there is more" must not keep a run going for ever: a
 * cursor or next link that comes back (A → A, or A → B → A), a page larger than was asked for, and
 * a read over its page or byte bound each end the read with a stable code. The caller's run then
 * fails before its cursor moves, so nothing unread is skipped, and the other mappings go on.
 */
import { createHash } from "node:crypto";
import { ErrorCodes, SyncError } from "../errors.js";

export interface FeedLimits {
  /** Pages one read may take. */
  maxPages: number;
  /** Response bytes one read may take. */
  maxBytes: number;
}

/** Room for a 1,000,000-record first load many times over (see shared/config/mapping.ts FeedLimits). */
export const defaultFeedLimits: FeedLimits = { maxPages: 50_000, maxBytes: 16 * 1024 ** 3 };

export class FeedGuard {
  private pages = 0;
  private bytes = 0;
  /** Digests of every position the read has been at: a long next link costs 16 bytes, not its length. */
  private readonly seen = new Set<string>();

  /**
   * @param feed names the feed in messages, e.g. `the app's change feed for "mentor"`.
   * @param start the position the read began at (a stored cursor or delta link), if any.
   */
  constructor(private readonly feed: string, private readonly limits: FeedLimits = defaultFeedLimits, start?: string) {
    if (start !== undefined && start !== "") this.seen.add(digest(start));
  }

  /** A page arrived: `records` of at most `requested`, `bytes` long. Throws PAGE_TOO_LARGE or FEED_TOO_LONG. */
  page(records: number, bytes: number, requested: number): void {
    this.pages += 1;
    this.bytes += bytes;
    if (records > requested) {
      throw this.error(ErrorCodes.PageTooLarge, `page ${this.pages} held ${records} records although at most ${requested} were asked for`);
    }
    if (this.pages > this.limits.maxPages) {
      throw this.error(ErrorCodes.FeedTooLong, `it went on past ${this.limits.maxPages} pages (options.feeds.maxPages)`);
    }
    if (this.bytes > this.limits.maxBytes) {
      throw this.error(ErrorCodes.FeedTooLong, `it went on past ${this.limits.maxBytes} bytes in ${this.pages} pages (options.feeds.maxBytes)`);
    }
  }

  /** The read goes on at `position` (`what` names it, e.g. `cursor "czEw"`). Throws FEED_LOOP when it was there before. */
  next(position: string, what: string): void {
    const key = digest(position);
    if (position === "" || this.seen.has(key)) {
      throw this.error(ErrorCodes.FeedLoop, `after page ${this.pages} it answered ${what} ${position === "" ? "(empty, which restarts the feed)" : "that it gave before"}: the feed does not advance`);
    }
    this.seen.add(key);
  }

  private error(code: string, why: string): SyncError {
    return new SyncError("permanent", code, `${code}: ${this.feed} was not read to its end, because ${why}. ` +
      "This mapping's run ends here and its cursor stays where it was; the records already read are handled, the rest are read again by the next run once the peer behaves.");
  }
}

function digest(position: string): string {
  return createHash("sha256").update(position).digest("base64").slice(0, 22);
}

/** How a cursor or link is named in messages: quoted, at most 60 characters. */
export function shown(position: string): string {
  return JSON.stringify(position.length > 60 ? `${position.slice(0, 57)}...` : position);
}
