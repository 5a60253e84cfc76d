import { errorMessage } from "../errors.js";
import type { Logger, WorkQueue } from "../ports.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { jsonError, type ApiResponse } from "./apiTypes.js";

const PARALLEL_SENDS = 16;

/**
 * Sends the events with bounded parallelism. A queue failure becomes 503: Dataverse tries 503 once
 * more and the app may retry; events that did go out before the failure are harmless twice, since
 * the worker re-reads both sides and writes only what differs.
 */
export async function enqueueEvents(queue: WorkQueue<RecordEventMessage>, events: RecordEventMessage[], logger: Logger): Promise<ApiResponse | undefined> {
  let next = 0;
  const worker = async () => {
    while (next < events.length) await queue.send(events[next++]);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_SENDS, events.length) }, worker));
    return undefined;
  } catch (e) {
    logger.error("Could not enqueue record events", { queue: queue.name, error: errorMessage(e) });
    return jsonError(503, "QUEUE_UNAVAILABLE", "the change notice could not be queued; try again");
  }
}
