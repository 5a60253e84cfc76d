import { createHash } from "node:crypto";
import { ErrorCodes, SyncError } from "../errors.js";
import { Queues } from "../names.js";
import type { RecordFailure } from "../sync/decide.js";
import { opsOfPayload, recordIdOf, writeOpsOf, type RunMessage, type WriteMessage, type WriteOp } from "../sync/writeOps.js";
import { noticesOf } from "../state/noticeGroups.js";
import type { Services } from "./services.js";

/**
 * A message the host gave up on (maxDequeueCount reached: the handler kept crashing). Nothing is
 * lost: a run is marked failed (health and alerts count it), each record the message carried
 * becomes a dead letter with the reason, through the engine's own dead-letter path, and a write
 * message's ops count as failed on their run, so the run finishes instead of staying `writing`.
 *
 * Throws when the state cannot be written (Table Storage down): the caller must then leave the
 * message on the poison queue for another delivery, because deleting it would lose the write.
 * Running it twice for the same message counts the message on its run once.
 */
export async function recordPoisonMessage(s: Services, queue: string, body: unknown, reason: string): Promise<void> {
  const base = queue.replace(/-poison$/, "");
  const message = `moved to the poison queue after repeated failures: ${reason}`;
  const failure = (direction: RecordFailure["direction"], recordId: string, payload: unknown): RecordFailure =>
    ({ direction, recordId, code: ErrorCodes.AttemptsExhausted, message, retryable: false, payload });
  if (base.endsWith(Queues.runs)) {
    const run = body as RunMessage;
    // A second delivery finds the run failed already: failing it again would count it twice in health.
    const current = await s.state.getRun(run.runId);
    if (current && !["succeeded", "completed_with_failures", "failed"].includes(current.status)) await s.engine.failRun(run.runId, new Error(message)).catch(ignoreMissingRun);
  } else if (base.endsWith(Queues.dataverseWrites) || base.endsWith(Queues.appWrites)) {
    const w = body as WriteMessage;
    const marker = poisonNote(body);
    // Counted before (an earlier delivery got this far): its dead letters are stored, nothing to do.
    if ((await s.state.getRun(w.runId))?.notes.includes(marker)) return;
    const ops = await poisonedOps(s, w);
    await s.engine.deadLetter(w.mapping, w.runId, ops.map((op) => failure(w.direction, recordIdOf(w.direction, op), { direction: w.direction, op: { ...op, attempt: 0 } })));
    await s.engine.settlePoisoned(w, ops, marker);
  } else if (base.endsWith(Queues.recordEvents)) {
    // One notice, or a group of notices that arrived together (shared/state/noticeGroups.ts): each its dead letter.
    for (const ev of noticesOf(body)) await s.engine.deadLetter(ev.mapping, "events", [failure(ev.side === "dataverse" ? "toApp" : "toDataverse", ev.id, { event: ev })]);
  }
  s.logger.error("message moved to poison", { queue, reason });
}

/**
 * The run note that records a poisoned write message as counted. It names the message by a hash of
 * its body: the same on every delivery and under every host (the local runner's poison copies get
 * new message ids), and a second message with the very same body would be the same work anyway.
 */
function poisonNote(body: unknown): string {
  const key = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 16);
  return `write message ${key} reached the poison queue; its records are dead letters (ATTEMPTS_EXHAUSTED)`;
}

/** The message's ops, loaded from the out-of-band store when it carries only a reference. */
async function poisonedOps(s: Services, w: WriteMessage): Promise<WriteOp[]> {
  if (!w.payloadRef) return writeOpsOf(w);
  const text = await s.state.payloads?.getPayload(w.payloadRef);
  if (text === undefined) throw new SyncError("validation", ErrorCodes.PayloadTooLarge, `write message with out-of-band payload ${w.payloadRef}, but the state store keeps no payloads`);
  // Gone: an earlier delivery settled the message and deleted it; nothing is left to record.
  return text === null ? [] : opsOfPayload(text, w.payloadRef);
}

/** A poisoned run message whose run row does not exist has nothing to fail; any other error is thrown. */
function ignoreMissingRun(e: unknown): void {
  if (e instanceof SyncError && e.code === ErrorCodes.NotFound) return;
  throw e;
}
