import type { WorkQueue } from "../ports.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { noticeBody, type RecordEventBody } from "./noticeGroups.js";
import { MAX_QUEUE_MESSAGE_CHARS } from "./queueMessages.js";
import { withSend } from "./sendView.js";

export interface GroupCommitLimits {
  /** Notices in one message: about what one worker's receive took when each notice was a message. */
  maxNotices: number;
  /** JSON bytes of one message: base64 adds a third, and the queue takes 64 KiB of text. */
  maxJsonBytes: number;
  /** Group sends in flight at once; the notices that arrive meanwhile make up the next group. */
  inFlight: number;
}

export const GroupCommitDefaults: GroupCommitLimits = {
  maxNotices: 32,
  maxJsonBytes: Math.floor((MAX_QUEUE_MESSAGE_CHARS * 3) / 4) - 1_024,
  inFlight: 1,
};

interface Waiting {
  notice: RecordEventMessage;
  bytes: number;
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * The record-events queue with group commit: notices sent while a send is in flight wait for it,
 * then go out together as one message (noticeGroups.ts), and each `send` resolves only once the
 * message holding its notice is stored, or rejects with that message's error. So a webhook still
 * answers 202 only once its notice is durable, and a burst of deliveries costs one queue `send` and,
 * later, one `delete` per group instead of per notice. A lone notice goes at once, as it always did.
 * Sends with a delay (deferrals, retries) go straight through, one message each.
 */
export function groupCommitted(queue: WorkQueue<RecordEventBody>, limits: GroupCommitLimits = GroupCommitDefaults): WorkQueue<RecordEventMessage> {
  const waiting: Waiting[] = [];
  let inFlight = 0;

  const take = (): Waiting[] => {
    const group = [waiting.shift()!];
    let bytes = group[0].bytes + 16;
    while (waiting.length && group.length < limits.maxNotices && bytes + waiting[0].bytes + 1 <= limits.maxJsonBytes) {
      bytes += waiting[0].bytes + 1;
      group.push(waiting.shift()!);
    }
    return group;
  };
  const flush = (): void => {
    while (inFlight < limits.inFlight && waiting.length) {
      const group = take();
      inFlight++;
      // A notice too large for a message alone is sent alone and refused by the queue adapter, with its size.
      void queue.send(noticeBody(group.map((w) => w.notice)))
        .then(() => group.forEach((w) => w.resolve()), (e: unknown) => group.forEach((w) => w.reject(e)))
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  };
  const send: WorkQueue<RecordEventMessage>["send"] = (notice, options) => {
    if (options?.delayMs) return queue.send(notice, options);
    return new Promise<void>((resolve, reject) => {
      waiting.push({ notice, bytes: Buffer.byteLength(JSON.stringify(notice) ?? "", "utf8"), resolve, reject });
      flush();
    });
  };
  // Every other member (receive, complete, poison, ensure…) is the queue's own.
  return withSend(queue, send) as unknown as WorkQueue<RecordEventMessage>;
}
