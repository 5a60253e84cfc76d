import type { InvocationContext } from "@azure/functions";
import { FunctionNames, Queues, poisonQueue } from "../shared/names.js";
import { decodeQueueMessage } from "../shared/state/queueMessages.js";
import { recordPoisonMessage } from "../shared/runtime/poison.js";
import type { WorkQueue } from "../shared/ports.js";
import { HostQueueSettings } from "../shared/runtime/queuePump.js";
import { getServices } from "../shared/runtime/services.js";
import { servicesForMessage } from "../shared/tenants/tenantRequest.js";
import { STORAGE_CONNECTION, storageQueue } from "./register.js";

/**
 * The host moves a message to `<queue>-poison` after maxDequeueCount failed attempts. This turns it
 * into dead letters (replayable, visible in health), settles its run and emits an alert event. When
 * that cannot be stored (Table Storage down), it throws: the host then keeps the message and
 * delivers it again later, where returning would delete it and lose the write; on the last delivery
 * it sends the message back to this queue, delayed, so it never reaches an unwatched
 * `-poison-poison` queue. Recording the same message twice counts it once (recordPoisonMessage).
 */
export function poisonWatcher(queue: string) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    try {
      const body = decodeQueueMessage(message);
      // The tenant's own state: a message of a deleted tenant has nobody left to record it for.
      const services = await servicesForMessage(body, await getServices());
      if (!services) return;
      await recordPoisonMessage(services, queue, body, `dequeued ${String(context.triggerMetadata?.dequeueCount ?? "?")} time(s) from ${queue}`);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      // On its last delivery the host would move it on to `<queue>-poison-poison`, which nothing
      // watches: put it back on this queue as a new message instead (its count starts again), later.
      if (Number(context.triggerMetadata?.dequeueCount ?? 0) >= HostQueueSettings.maxDequeueCount && (await requeue(queue, message))) {
        context.warn(`could not record poison message from ${queue} (${reason}); sent it back to ${queue} to try again in ${POISON_RETRY_MS / 60_000} min`);
        return;
      }
      context.error(`could not record poison message from ${queue}, it stays on the queue for another delivery: ${reason}`);
      throw e;
    }
  };
}

/** How long a poison message whose dead letter could not be stored waits before it is tried again. */
const POISON_RETRY_MS = 5 * 60_000;

/** Sends a poison message back to its own poison queue, delayed; false when that queue cannot be reached. */
async function requeue(queue: string, message: unknown): Promise<boolean> {
  const services = await getServices();
  const base = Object.values(services.queues).find((q) => poisonQueue(q.name) === queue) as { poison?: () => WorkQueue<unknown> } | undefined;
  const poison = base?.poison?.();
  if (!poison) return false;
  await poison.send(decodeQueueMessage(message), { delayMs: POISON_RETRY_MS });
  return true;
}

for (const [key, queue] of Object.entries(Queues)) {
  const name = `${FunctionNames.poisonWatcher}-${key}`;
  storageQueue(name, { queueName: poisonQueue(queue), connection: STORAGE_CONNECTION, handler: poisonWatcher(poisonQueue(queue)) });
}
