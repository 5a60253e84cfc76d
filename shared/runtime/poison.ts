import { ErrorCodes } from "../errors.js";
import { Queues, TelemetryEvents } from "../names.js";
import type { DirectionKey } from "../ports.js";
import { recordIdOf, writeOpsOf, type RunMessage, type WriteMessage, type RecordEventMessage } from "../sync/writeOps.js";
import type { Services } from "./services.js";

/**
 * A message the host gave up on (maxDequeueCount reached: the handler kept crashing). Nothing is
 * lost: each record it carried becomes a dead letter with the reason, a run is marked failed, and an
 * alert event is emitted.
 */
export async function recordPoisonMessage(s: Services, queue: string, body: unknown, reason: string): Promise<void> {
  const now = new Date(s.clock.now()).toISOString();
  const base = queue.replace(/-poison$/, "");
  const message = `moved to the poison queue after repeated failures: ${reason}`;
  if (base.endsWith(Queues.runs)) {
    const run = body as RunMessage;
    await s.state.updateRun(run.runId, (r) => ({ ...r, status: "failed", error: message, finishedAt: now })).catch(() => undefined);
  } else if (base.endsWith(Queues.dataverseWrites) || base.endsWith(Queues.appWrites)) {
    const w = body as WriteMessage;
    for (const op of writeOpsOf(w)) {
      const recordId = recordIdOf(w.direction, op);
      await s.state.putDeadLetter({
        id: `${w.mapping}|${w.direction}|${recordId}`, mapping: w.mapping, direction: w.direction, recordId,
        code: ErrorCodes.AttemptsExhausted, message, attempts: op.attempt + 1, firstFailedAt: now, lastFailedAt: now,
        runId: w.runId, payload: { direction: w.direction, op },
      });
    }
  } else if (base.endsWith(Queues.recordEvents)) {
    const ev = body as RecordEventMessage;
    const direction: DirectionKey = ev.side === "dataverse" ? "toApp" : "toDataverse";
    await s.state.putDeadLetter({
      id: `${ev.mapping}|${direction}|${ev.id}`, mapping: ev.mapping, direction, recordId: ev.id, code: ErrorCodes.AttemptsExhausted,
      message, attempts: 1, firstFailedAt: now, lastFailedAt: now, payload: { event: ev },
    });
  }
  s.telemetry.event(TelemetryEvents.recordDeadLettered, { queue, code: ErrorCodes.AttemptsExhausted });
  s.logger.error("message moved to poison", { queue, reason });
}
