import { errorMessage } from "../errors.js";
import type { Logger, QueueMessage, WorkQueue } from "../ports.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { noticeBody, noticesOf, priorDeliveries, type RecordEventBody } from "../state/noticeGroups.js";
import { HostQueueSettings, keepLeased, type LeaseSettings } from "./queuePump.js";

/**
 * Messages a record-event worker takes from its queue besides the one that triggered it: one
 * receive, so the trigger and these make at most the 32 messages a Storage queue hands out at once.
 * Handling them together is what lets one worker keep up with a burst (their rows are read 50 to a
 * request and their writes batched) instead of one notice, with its reads and writes, at a time.
 */
export const EXTRA_EVENTS = 31;

/**
 * The lease on the messages taken: renewed while they are handled, and short enough that the
 * notices of a worker that dies come back within a minute.
 */
export const EventLease: LeaseSettings = { ms: 60_000, renewEveryMs: 20_000 };

/** One record-events message as handled: its notices, and their deliveries so far (this one included). */
export interface EventMessage {
  notices: RecordEventMessage[];
  deliveries: number;
}

export function eventMessage(body: unknown, dequeueCount: number): EventMessage {
  return { notices: noticesOf(body), deliveries: priorDeliveries(body) + Math.max(1, dequeueCount) };
}

/** Messages taken besides the trigger, leased until `settle` completes or releases each. */
export interface TakenEvents {
  messages: (QueueMessage<RecordEventBody> & EventMessage)[];
  /** Settles each message as `settleEvents` decides: completed, or released for another delivery. */
  settle(failed: ReadonlySet<RecordEventMessage>, error?: unknown): Promise<void>;
}

type EventQueue = WorkQueue<RecordEventBody> & { poison?: () => WorkQueue<RecordEventBody> };

/** Takes the messages visible on the queue now (none when `max` is 0). */
export async function takeEvents(queue: WorkQueue<RecordEventMessage>, logger: Logger, max = EXTRA_EVENTS, lease = EventLease): Promise<TakenEvents> {
  const q = queue as EventQueue;
  const received = max > 0 ? await q.receive(max, lease.ms) : [];
  const messages = received.map((m) => Object.assign(m, eventMessage(m.body, m.dequeueCount)));
  const keepers = messages.map((m) => keepLeased(q as WorkQueue<unknown>, m, lease));
  return {
    messages,
    async settle(failed, error) {
      await Promise.all(keepers.map((k) => k.stop()));
      await Promise.all(messages.map(async (m) => {
        try {
          if ((await settleEvents(queue, m, failed, logger, error)) === "complete") await q.complete(m);
          else await q.abandon(m, HostQueueSettings.visibilityTimeoutMs);
        } catch (e) {
          // A lease lost or a queue call that failed: the message comes back when its lease ends, and
          // its notices are handled again (a re-read finds what was written and writes nothing twice).
          logger.warn("record event left for redelivery", { queue: q.name, messageId: m.id, error: errorMessage(e) });
        }
      }));
    },
  };
}

/**
 * What becomes of a message once its notices were handled, as the Functions host treats a failed
 * trigger, but per notice: every notice synced or pending → `complete`; every one failed →
 * `deliver again` (the same message, its dequeue count one higher); some failed → those are sent
 * again first, as one message that carries their deliveries so far, and only then `complete`.
 * Notices that failed on their maxDequeueCount-th delivery in all go to `<queue>-poison` (then
 * `complete`), as the host moves a trigger it gave up on. Without a poison queue: `deliver again`.
 */
export async function settleEvents(queue: WorkQueue<RecordEventMessage>, m: EventMessage, failed: ReadonlySet<RecordEventMessage>, logger: Logger, error?: unknown): Promise<"complete" | "deliver again"> {
  const q = queue as EventQueue;
  const left = m.notices.filter((n) => failed.has(n));
  if (!left.length) return "complete";
  if (m.deliveries >= HostQueueSettings.maxDequeueCount) {
    const poison = q.poison?.();
    if (!poison) return "deliver again";
    logger.warn(`Message has reached MaxDequeueCount of ${HostQueueSettings.maxDequeueCount}. Moving message to queue '${poison.name}'.`, { notices: left.length, error: errorMessage(error) });
    await poison.send(noticeBody(left));
    return "complete";
  }
  if (left.length === m.notices.length) return "deliver again";
  // Durable before the message that held them is deleted: nothing lost if the process dies in between
  // (the whole message then comes back, and what was written is re-read and not written twice).
  await q.send(noticeBody(left, m.deliveries), { delayMs: HostQueueSettings.visibilityTimeoutMs });
  return "complete";
}
