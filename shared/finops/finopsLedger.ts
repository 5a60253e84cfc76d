import { ErrorCodes, SyncError } from "../errors.js";
import { retryOnConcurrency } from "../state/casRetry.js";
import { encodeKey, invertedTime } from "../state/keys.js";
import type { LedgerRows } from "./ledgerRows.js";

/**
 * The F&O message ledger (table SyncFinopsMessages, partition = job): what exactly-once rests on.
 * A message is recorded by a conditional create BEFORE anything is done with it, so a second
 * delivery of the same message, or a second run racing the first, finds the record and does not
 * apply it again. Imports are recorded as an intent (with the file's hash) before they are sent.
 */
export type MessageStatus =
  /** to-finops: recorded, being sent; an intent still here at the next run means its answer was lost. */
  | "sending"
  /** to-finops: an intent whose answer was lost; held until an operator decides (--resend / --mark-sent). */
  | "unconfirmed"
  /** to-finops: accepted by F&O, waiting for its batch. */
  | "enqueued"
  /** to-finops: final, as F&O reported it. */
  | "processed" | "processed_with_errors" | "failed"
  /** from-finops: taken, being applied to the app. */
  | "dequeued"
  /** from-finops: every record written or pending; the ack is due. */
  | "applied"
  /** from-finops: acknowledged. */
  | "acked";

export interface FinopsMessage {
  job: string;
  /** Our key of the message: F&O's message id, an export's stable id, or an import intent's batch id. */
  id: string;
  direction: "to-finops" | "from-finops";
  messageId?: string;
  correlationId?: string;
  executionId?: string;
  /** The batch id we sent as x-ms-dyn-externalidentifier / the package's file name. */
  batchId?: string;
  status: MessageStatus;
  /** F&O's own status word (GetMessageStatus, GetExecutionSummaryStatus). */
  finopsStatus?: string;
  records: number;
  failed: number;
  /** sha256 of the file sent or received. */
  hash?: string;
  /** to-finops: the app cursor that is saved once this message is accepted. */
  cursorAfter?: string;
  /** to-finops: app ids of pending records re-sent in this batch (their entries are cleared once it is processed). */
  revisitedIds?: string[];
  createdAt: string;
  enqueuedAt?: string;
  dequeuedAt?: string;
  ackedAt?: string;
  updatedAt: string;
  /** from-finops: how many times F&O delivered it. */
  deliveries?: number;
  runId?: string;
}

const OPEN: ReadonlySet<MessageStatus> = new Set(["sending", "unconfirmed", "enqueued", "dequeued", "applied"]);
export const isOpen = (m: FinopsMessage) => OPEN.has(m.status);

const rowKey = (id: string) => `m|${encodeKey(id)}`;
const openKey = (id: string) => `o|${encodeKey(id)}`;
const timeKey = (m: FinopsMessage) => `t|${invertedTime(m.createdAt)}|${encodeKey(m.id)}`;

interface Lock {
  owner: string;
  until: number;
}

export class FinopsLedger {
  constructor(private readonly rows: LedgerRows) {}

  async get(job: string, id: string): Promise<FinopsMessage | null> {
    return (await this.rows.get<FinopsMessage>(encodeKey(job), rowKey(id)))?.value ?? null;
  }

  /** Records a message unless it is already recorded; the existing record is returned otherwise. */
  async claim(message: FinopsMessage): Promise<{ created: boolean; message: FinopsMessage }> {
    const pk = encodeKey(message.job);
    try {
      await this.rows.create(pk, rowKey(message.id), message);
    } catch (e) {
      if (!(e instanceof SyncError) || e.code !== ErrorCodes.DuplicateKey) throw e;
      const existing = await this.get(message.job, message.id);
      if (existing) return { created: false, message: existing };
      throw e;
    }
    await this.rows.upsert(pk, timeKey(message), { id: message.id });
    if (isOpen(message)) await this.rows.upsert(pk, openKey(message.id), { id: message.id });
    return { created: true, message };
  }

  /** Read-modify-write with compare-and-set; keeps the open index in step. */
  async update(job: string, id: string, mutate: (m: FinopsMessage) => FinopsMessage): Promise<FinopsMessage> {
    const pk = encodeKey(job);
    const next = await retryOnConcurrency(`F&O message ${job}/${id}`, async () => {
      const row = await this.rows.get<FinopsMessage>(pk, rowKey(id));
      if (!row) throw new SyncError("permanent", ErrorCodes.NotFound, `no F&O message ${id} of job ${job} is recorded`);
      const value = mutate(row.value);
      await this.rows.replace(pk, rowKey(id), value, row.etag);
      return value;
    });
    if (isOpen(next)) await this.rows.upsert(pk, openKey(id), { id });
    else await this.rows.delete(pk, openKey(id));
    return next;
  }

  /** Messages not finished yet (imports waiting for F&O, exports not acked), oldest key first. */
  async open(job: string, limit = 100): Promise<FinopsMessage[]> {
    const ids = await this.rows.list<{ id: string }>(encodeKey(job), "o|", limit);
    const found = await Promise.all(ids.map((r) => this.get(job, r.value.id)));
    return found.filter((m): m is FinopsMessage => !!m).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** The newest messages first. */
  async recent(job: string, limit: number): Promise<FinopsMessage[]> {
    const ids = await this.rows.list<{ id: string }>(encodeKey(job), "t|", limit);
    const found = await Promise.all(ids.map((r) => this.get(job, r.value.id)));
    return found.filter((m): m is FinopsMessage => !!m);
  }

  /**
   * One run of a job at a time (a timer and a manual trigger, or two instances): the lock row is
   * taken by compare-and-set and expires by itself, so a crashed run never holds the job for ever.
   */
  async lock(job: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const pk = encodeKey(job);
    const row = await this.rows.get<Lock>(pk, "lock");
    if (row && row.value.owner !== owner && row.value.until > now) return false;
    try {
      if (row) await this.rows.replace(pk, "lock", { owner, until: now + ttlMs }, row.etag);
      else await this.rows.create(pk, "lock", { owner, until: now + ttlMs });
      return true;
    } catch (e) {
      if (e instanceof SyncError && (e.code === ErrorCodes.Concurrency || e.code === ErrorCodes.DuplicateKey)) return false;
      throw e;
    }
  }

  async unlock(job: string, owner: string): Promise<void> {
    const pk = encodeKey(job);
    const row = await this.rows.get<Lock>(pk, "lock");
    if (row?.value.owner !== owner) return;
    await this.rows.replace(pk, "lock", { owner, until: 0 }, row.etag).catch(() => undefined);
  }
}
