import type { InvocationContext } from "@azure/functions";
import { decodeQueueMessage } from "../shared/state/queueMessages.js";
import { getServices } from "../shared/runtime/services.js";
import type { RecordEventMessage, RunMessage, WriteMessage } from "../shared/sync/writeOps.js";

/** Queue handlers: decode the message, call the engine. Thrown errors let the host retry, then poison. */
export async function runWorker(message: unknown, context: InvocationContext): Promise<void> {
  const { engine } = await getServices();
  const run = decodeQueueMessage(message) as RunMessage;
  context.log(`planning run ${run.runId} of ${run.mapping} (${run.mode})`);
  await engine.handleRun(run);
}

export async function writeWorker(message: unknown, context: InvocationContext): Promise<void> {
  const { engine } = await getServices();
  const write = decodeQueueMessage(message) as WriteMessage;
  const outcome = await engine.handleWrite(write);
  context.log(`${write.mapping} ${write.direction}: ${outcome.finished} finished, ${outcome.retries.length} to retry, ${outcome.failures.length} dead-lettered`);
}

export async function recordEventWorker(message: unknown, context: InvocationContext): Promise<void> {
  const { engine } = await getServices();
  const ev = decodeQueueMessage(message) as RecordEventMessage;
  const outcome = await engine.handleRecordEvent(ev);
  context.log(`${ev.mapping} ${ev.side} ${ev.id}: ${outcome.finished} write(s)`);
}
