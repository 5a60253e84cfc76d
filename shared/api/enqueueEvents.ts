import { errorMessage } from "../errors.js";
import type { Logger, WorkQueue } from "../ports.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { jsonError, type ApiResponse } from "./apiTypes.js";

const PARALLEL_SENDS = 16;

/**
 * The longest correlation id copied into a queue message. Real ones are GUIDs (36 characters);
 * the sender chooses the value, and a 48.7 KB one pushed the message over the 64 KB queue limit,
 * so the notice was refused (503) and lost. Longer values keep their start and are marked.
 */
export const MAX_CORRELATION_ID_CHARS = 128;
const TRUNCATED = "…[truncated]";

/** Metadata from the sender, bounded for a queue message and a log line; the record's own ids are never touched. */
export function capMetadata(value: string): string;
export function capMetadata(value: string | undefined): string | undefined;
export function capMetadata(value: string | undefined): string | undefined {
  if (value === undefined || value.length <= MAX_CORRELATION_ID_CHARS) return value;
  return value.slice(0, MAX_CORRELATION_ID_CHARS - TRUNCATED.length) + TRUNCATED;
}

/**
 * Sends the events with bounded parallelism, their metadata capped. A queue failure becomes 503:
 * Dataverse tries 503 once more and the app may retry; events that did go out before the failure
 * are harmless twice, since the worker re-reads both sides and writes only what differs.
 */
export async function enqueueEvents(queue: WorkQueue<RecordEventMessage>, events: RecordEventMessage[], logger: Logger): Promise<ApiResponse | undefined> {
  const capped = events.map((e) => (e.correlationId === undefined ? e : { ...e, correlationId: capMetadata(e.correlationId) }));
  let next = 0;
  const worker = async () => {
    while (next < capped.length) await queue.send(capped[next++]);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_SENDS, capped.length) }, worker));
    return undefined;
  } catch (e) {
    logger.error("Could not enqueue record events", { queue: queue.name, error: errorMessage(e) });
    return jsonError(503, "QUEUE_UNAVAILABLE", "the change notice could not be queued; try again");
  }
}
