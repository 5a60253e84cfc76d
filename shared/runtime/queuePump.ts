import { errorMessage } from "../errors.js";
import { poisonQueue } from "../names.js";
import type { QueueMessage, WorkQueue } from "../ports.js";
import { MemoryWorkQueue } from "../state/memoryQueue.js";
import type { Services } from "./services.js";

/** host.json values the local pump mirrors (extensions.queues). */
export const HostQueueSettings = { maxDequeueCount: 5, visibilityTimeoutMs: 30_000, batchSize: 8 } as const;

type Handler = (body: unknown, meta: { dequeueCount: number }) => Promise<void>;

export interface PumpQueue {
  queue: WorkQueue<unknown>;
  handler: Handler;
}

/** The queue handlers, as the Functions host would call them. */
export function engineQueues(s: Services): PumpQueue[] {
  return [
    { queue: s.queues.runs as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleRun(b as never)) },
    { queue: s.queues.dataverseWrites as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleWrite(b as never)) },
    { queue: s.queues.appWrites as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleWrite(b as never)) },
    { queue: s.queues.recordEvents as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleRecordEvent(b as never)) },
  ];
}

/**
 * Processes what is visible on each queue once, with the host's semantics: a handler that throws
 * leaves the message for another attempt after the visibility timeout, and after maxDequeueCount
 * attempts the message moves to `<queue>-poison`. Returns how many messages were handled.
 */
export async function pumpOnce(queues: PumpQueue[], onPoison: (queue: string, message: QueueMessage<unknown>, error: string) => Promise<void>): Promise<number> {
  let handled = 0;
  for (const { queue, handler } of queues) {
    const batch = await queue.receive(HostQueueSettings.batchSize, 5 * 60_000);
    await Promise.all(batch.map(async (message) => {
      handled += 1;
      try {
        await handler(message.body, { dequeueCount: message.dequeueCount });
        await queue.complete(message);
      } catch (e) {
        if (message.dequeueCount >= HostQueueSettings.maxDequeueCount) {
          await onPoison(queue.name, message, errorMessage(e));
          await queue.complete(message);
        } else {
          await queue.abandon(message, HostQueueSettings.visibilityTimeoutMs);
        }
      }
    }));
  }
  return handled;
}

/**
 * Runs the in-memory queues until nothing is left, sleeping (on the services' clock) until the next
 * delayed message is due. Used by `npm run sync`: one complete cycle in one process.
 */
export async function drainMemoryQueues(s: Services, onPoison: (queue: string, message: QueueMessage<unknown>, error: string) => Promise<void>): Promise<void> {
  const queues = engineQueues(s);
  for (;;) {
    if (await pumpOnce(queues, onPoison)) continue;
    const due = queues
      .map(({ queue }) => (queue instanceof MemoryWorkQueue ? queue.nextVisibleAt() : undefined))
      .filter((t): t is number => t !== undefined);
    if (!due.length) return;
    await s.clock.sleep(Math.max(0, Math.min(...due) - s.clock.now()));
  }
}

export { poisonQueue };

/**
 * Write messages an in-process run may hold while it plans (each carries up to `chunkSize` records).
 * Twice the host's batch size, so that relief always has a full batch of bulk calls to run in parallel.
 */
export const RELIEVE_DEPTH = 2 * HostQueueSettings.batchSize;

/**
 * For in-process runs: applies queued writes while the planner is still reading, until only a few
 * (or only delayed retries) are left, so memory stays bounded however large the run.
 */
export async function relieveWriteQueues(s: Services): Promise<void> {
  const pumps = engineQueues(s).filter(({ queue }) => queue === s.queues.dataverseWrites || queue === s.queues.appWrites);
  const depth = async () => (await s.queues.dataverseWrites.approximateCount()) + (await s.queues.appWrites.approximateCount());
  const onPoison = async (queue: string, message: QueueMessage<unknown>, error: string) => {
    const { recordPoisonMessage } = await import("./poison.js");
    await recordPoisonMessage(s, queue, message.body, error);
  };
  while ((await depth()) > RELIEVE_DEPTH) {
    if (!(await pumpOnce(pumps, onPoison))) return;
  }
}
