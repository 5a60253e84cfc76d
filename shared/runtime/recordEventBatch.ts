import { errorMessage } from "../errors.js";
import type { Logger, QueueMessage, WorkQueue } from "../ports.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { HostQueueSettings, keepLeased, type LeaseSettings } from "./queuePump.js";

/**
 * Notices a record-event worker takes from its queue besides the one that triggered it: one
 * receive, so the trigger and these make at most the 32 messages a Storage queue hands out at once.
 * Handling them together is what lets one worker keep up with a burst (their rows are read 50 to a
 * request and their writes batched) instead of one notice, with its reads and writes, at a time.
 */
export const EXTRA_EVENTS = 31;

/**
 * The lease on the notices taken: renewed while they are handled, and short enough that the
 * notices of a worker that dies come back within a minute.
 */
export const EventLease: LeaseSettings = { ms: 60_000, renewEveryMs: 20_000 };

/** Notices taken besides the trigger, leased until `settle` completes or releases each. */
export interface TakenEvents {
  messages: QueueMessage<RecordEventMessage>[];
  /**
   * Completes each message whose notice is handled (its record synced, or recorded pending) and
   * releases the others as the Functions host releases a failed trigger: visible again after the
   * host's visibility timeout, or moved to `<queue>-poison` once delivered maxDequeueCount times.
   */
  settle(failed: ReadonlySet<RecordEventMessage>, error?: unknown): Promise<void>;
}

type PoisonCapable = WorkQueue<RecordEventMessage> & { poison?: () => WorkQueue<RecordEventMessage> };

/** Takes the notices visible on the queue now (none when `max` is 0). */
export async function takeEvents(queue: PoisonCapable, logger: Logger, max = EXTRA_EVENTS, lease = EventLease): Promise<TakenEvents> {
  const messages = max > 0 ? await queue.receive(max, lease.ms) : [];
  const keepers = messages.map((m) => keepLeased(queue as WorkQueue<unknown>, m, lease));
  return {
    messages,
    async settle(failed, error) {
      await Promise.all(keepers.map((k) => k.stop()));
      await Promise.all(messages.map(async (m) => {
        try {
          if (!failed.has(m.body)) return await queue.complete(m);
          const poison = queue.poison?.();
          if (m.dequeueCount >= HostQueueSettings.maxDequeueCount && poison) {
            logger.warn(`Message has reached MaxDequeueCount of ${HostQueueSettings.maxDequeueCount}. Moving message to queue '${poison.name}'.`, { error: errorMessage(error) });
            await poison.send(m.body);
            return await queue.complete(m);
          }
          await queue.abandon(m, HostQueueSettings.visibilityTimeoutMs);
        } catch (e) {
          // A lease lost or a queue call that failed: the message comes back when its lease ends, and
          // its notice is handled again (a re-read finds what was written and writes nothing twice).
          logger.warn("record event left for redelivery", { queue: queue.name, messageId: m.id, error: errorMessage(e) });
        }
      }));
    },
  };
}
