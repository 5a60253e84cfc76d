import type { LoggedRequest } from "../emulators/dataverse/requestLog.js";

/** How a run used the service: when its bulk calls went and how many ran at once. */
export interface Timeline {
  /** Seconds from the run's start to its first bulk call. */
  firstBulkS: number;
  /** Seconds from the last bulk call's end to the run's end. */
  afterLastBulkS: number;
  /** Bulk calls answered 2xx, and the average number in flight between the first start and the last end. */
  bulkCalls: number;
  averageInFlight: number;
  /** Each bulk call: start and duration, seconds from the run's start. */
  calls: Array<[number, number]>;
}

const isBulk = (e: LoggedRequest) => e.method === "POST" && !e.inBatch && /Multiple$/.test(e.path.split("?")[0]);

export function timelineOf(entries: readonly LoggedRequest[], startedAt: number, ms: number): Timeline {
  const end = startedAt + ms;
  const bulk = entries.filter((e) => isBulk(e) && e.status < 400 && e.at >= startedAt && e.at <= end);
  if (bulk.length === 0) return { firstBulkS: 0, afterLastBulkS: 0, bulkCalls: 0, averageInFlight: 0, calls: [] };
  const first = Math.min(...bulk.map((e) => e.at));
  const last = Math.max(...bulk.map((e) => e.at + e.durationMs));
  const busy = bulk.reduce((s, e) => s + e.durationMs, 0);
  return { firstBulkS: (first - startedAt) / 1000, afterLastBulkS: (end - last) / 1000, bulkCalls: bulk.length, averageInFlight: busy / Math.max(1, last - first),
    calls: bulk.map((e) => [(e.at - startedAt) / 1000, e.durationMs / 1000]) };
}
