import type { InvocationContext } from "@azure/functions";
import { FunctionNames, Queues, poisonQueue } from "../shared/names.js";
import { decodeQueueMessage } from "../shared/state/queueMessages.js";
import { recordPoisonMessage } from "../shared/runtime/poison.js";
import { getServices } from "../shared/runtime/services.js";
import { STORAGE_CONNECTION, storageQueue } from "./register.js";

/**
 * The host moves a message to `<queue>-poison` after maxDequeueCount failed attempts. This turns it
 * into dead letters (replayable, visible in health), settles its run and emits an alert event. When
 * that cannot be stored (Table Storage down), it throws: the host then keeps the message and
 * delivers it again later, where returning would delete it and lose the write. Recording the same
 * message twice counts it once (recordPoisonMessage).
 */
export function poisonWatcher(queue: string) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    try {
      const services = await getServices();
      await recordPoisonMessage(services, queue, decodeQueueMessage(message), `dequeued ${String(context.triggerMetadata?.dequeueCount ?? "?")} time(s) from ${queue}`);
    } catch (e) {
      context.error(`could not record poison message from ${queue}, it stays on the queue for another delivery: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  };
}

for (const [key, queue] of Object.entries(Queues)) {
  const name = `${FunctionNames.poisonWatcher}-${key}`;
  storageQueue(name, { queueName: poisonQueue(queue), connection: STORAGE_CONNECTION, handler: poisonWatcher(poisonQueue(queue)) });
}
