import type { InvocationContext } from "@azure/functions";
import { FunctionNames, Queues, poisonQueue } from "../shared/names.js";
import { decodeQueueMessage } from "../shared/state/queueMessages.js";
import { recordPoisonMessage } from "../shared/runtime/poison.js";
import { getServices } from "../shared/runtime/services.js";
import { STORAGE_CONNECTION, storageQueue } from "./register.js";

/**
 * The host moves a message to `<queue>-poison` after maxDequeueCount failed attempts. This turns it
 * into dead letters (replayable, visible in health) and an alert event. It never throws, so a
 * poison message cannot loop here.
 */
export function poisonWatcher(queue: string) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    try {
      const services = await getServices();
      await recordPoisonMessage(services, queue, decodeQueueMessage(message), `dequeued ${String(context.triggerMetadata?.dequeueCount ?? "?")} time(s) from ${queue}`);
    } catch (e) {
      context.error(`could not record poison message from ${queue}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}

for (const [key, queue] of Object.entries(Queues)) {
  const name = `${FunctionNames.poisonWatcher}-${key}`;
  storageQueue(name, { queueName: poisonQueue(queue), connection: STORAGE_CONNECTION, handler: poisonWatcher(poisonQueue(queue)) });
}
