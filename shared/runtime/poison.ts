import { ErrorCodes } from "../errors.js";
import { Queues } from "../names.js";
import type { RecordFailure } from "../sync/decide.js";
import { recordIdOf, writeOpsOf, type RecordEventMessage, type RunMessage, type WriteMessage } from "../sync/writeOps.js";
import type { Services } from "./services.js";

/**
 * A message the host gave up on (maxDequeueCount reached: the handler kept crashing). Nothing is
 * lost: a run is marked failed (health and alerts count it), and each record the message carried
 * becomes a dead letter with the reason, through the engine's own dead-letter path.
 */
export async function recordPoisonMessage(s: Services, queue: string, body: unknown, reason: string): Promise<void> {
  const base = queue.replace(/-poison$/, "");
  const message = `moved to the poison queue after repeated failures: ${reason}`;
  const failure = (direction: RecordFailure["direction"], recordId: string, payload: unknown): RecordFailure =>
    ({ direction, recordId, code: ErrorCodes.AttemptsExhausted, message, retryable: false, payload });
  if (base.endsWith(Queues.runs)) {
    const run = body as RunMessage;
    await s.engine.failRun(run.runId, new Error(message)).catch(() => undefined);
  } else if (base.endsWith(Queues.dataverseWrites) || base.endsWith(Queues.appWrites)) {
    const w = body as WriteMessage;
    const failures = writeOpsOf(w).map((op) => failure(w.direction, recordIdOf(w.direction, op), { direction: w.direction, op: { ...op, attempt: 0 } }));
    await s.engine.deadLetter(w.mapping, w.runId, failures);
  } else if (base.endsWith(Queues.recordEvents)) {
    const ev = body as RecordEventMessage;
    await s.engine.deadLetter(ev.mapping, "events", [failure(ev.side === "dataverse" ? "toApp" : "toDataverse", ev.id, { event: ev })]);
  }
  s.logger.error("message moved to poison", { queue, reason });
}
