/**
 * Recurring data jobs and their message queues. Import messages (enqueue) each get an execution
 * in the simulated batch; export messages (seeded by tests) are dequeued, downloaded and acked.
 * An unacked export message becomes visible again `redeliveryMs` after each dequeue, with a fresh
 * PopReceipt and `LastDequeueDateTime` set (doc 1.3).
 */
import { randomBytes } from "node:crypto";
import type { Execution, Executions } from "./executions.js";
import { newGuid, normalizeGuid, type FinopsJob, type MessageInfo, type Row } from "./types.js";

export interface ImportMessage {
  messageId: string;
  job: FinopsJob;
  enqueuedAt: number;
  externalIdentifier?: string;
  company?: string;
  execution: Execution;
}

export interface ExportMessage {
  messageId: string;
  job: FinopsJob;
  rows: Row[];
  enqueuedAt: number;
  blobId: string;
  correlationId: string;
  popReceipt?: string;
  visibleAt: number;
  dequeueCount: number;
  lastDequeuedAt?: number;
  acked: boolean;
  ackedAt?: number;
}

export type AckResult = "acked" | "already-acked" | "unknown" | "stale";

export class Queues {
  readonly jobs = new Map<string, FinopsJob>();
  private readonly imports = new Map<string, ImportMessage>();
  private readonly exports: ExportMessage[] = [];
  private readonly byCorrelation = new Map<string, { message: ExportMessage; current: boolean }>();

  constructor(
    private readonly executions: Executions,
    private readonly now: () => number,
    private readonly stepMs: number,
    private readonly redeliveryMs: number,
    private readonly freshCorrelationId: boolean,
  ) {}

  defineJob(job: FinopsJob): void {
    const problems = [
      typeof job?.activityId === "string" && job.activityId ? "" : "activityId (a GUID)",
      job?.direction === "import" || job?.direction === "export" ? "" : "direction (import | export)",
      typeof job?.entity === "string" && job.entity ? "" : "entity (the entity name)",
      job?.format === "csv" || job?.format === "package" ? "" : "format (csv | package)",
    ].filter(Boolean);
    if (problems.length) throw new Error(`defineJob: the job needs ${problems.join(", ")}`);
    this.jobs.set(normalizeGuid(job.activityId), { ...job, enabled: job.enabled ?? true });
    this.executions.setKeyFields(job.entity, job.keyFields);
  }

  job(activityId: string): FinopsJob | undefined {
    return this.jobs.get(normalizeGuid(activityId));
  }

  enqueue(job: FinopsJob, parsed: { files?: Execution["files"]; parseError?: string }, meta: { externalIdentifier?: string; company?: string }): ImportMessage {
    const messageId = newGuid();
    const execution = this.executions.create({ direction: "import", project: job.entity, execute: true, ...parsed });
    const message: ImportMessage = { messageId, job, enqueuedAt: this.now(), execution, ...meta };
    this.imports.set(messageId, message);
    return message;
  }

  importMessage(messageId: string): ImportMessage | undefined {
    return this.imports.get(normalizeGuid(messageId));
  }

  /** The execution id once the batch has picked the message up (doc 1.6: the empty GUID before). */
  pickedUp(message: ImportMessage): boolean {
    return this.now() - message.enqueuedAt >= this.stepMs;
  }

  importStatus(message: ImportMessage): string {
    const status = this.executions.summaryStatus(message.execution);
    if (!this.pickedUp(message)) return "Enqueued";
    if (!message.execution.done) return "Processing";
    if (message.execution.parseError) return "PreProcessingError";
    return status === "Succeeded" ? "Processed" : "ProcessedWithErrors";
  }

  seedExport(job: FinopsJob, rows: Row[]): ExportMessage {
    const messageId = newGuid();
    const message: ExportMessage = {
      messageId, job, rows: [...rows], enqueuedAt: this.now(), blobId: newGuid(), correlationId: messageId, visibleAt: this.now(), dequeueCount: 0, acked: false,
    };
    this.exports.push(message);
    this.byCorrelation.set(messageId, { message, current: true });
    return message;
  }

  /** The next visible message of the job, leased for `redeliveryMs`; undefined when none is ready. */
  dequeue(job: FinopsJob): { message: ExportMessage; lastDequeuedAt?: number } | undefined {
    const now = this.now();
    const message = this.exports.find((m) => m.job === job && !m.acked && m.visibleAt <= now);
    if (!message) return undefined;
    const lastDequeuedAt = message.lastDequeuedAt;
    if (message.dequeueCount > 0 && this.freshCorrelationId) {
      this.byCorrelation.set(message.correlationId, { message, current: false });
      message.correlationId = newGuid();
      this.byCorrelation.set(message.correlationId, { message, current: true });
    }
    message.popReceipt = randomBytes(12).toString("base64url");
    message.dequeueCount += 1;
    message.lastDequeuedAt = now;
    message.visibleAt = now + this.redeliveryMs;
    return { message, lastDequeuedAt };
  }

  exportByBlob(blobId: string): ExportMessage | undefined {
    const id = normalizeGuid(blobId);
    return this.exports.find((m) => m.blobId === id);
  }

  ack(correlationId: string, popReceipt: string | undefined): { result: AckResult; message?: ExportMessage } {
    const entry = this.byCorrelation.get(normalizeGuid(correlationId));
    if (!entry) return { result: "unknown" };
    const { message, current } = entry;
    const latest = current && popReceipt !== undefined && popReceipt === message.popReceipt;
    if (message.acked) return { result: latest ? "already-acked" : "stale", message };
    if (!latest) return { result: "stale", message };
    message.acked = true;
    message.ackedAt = this.now();
    return { result: "acked", message };
  }

  forceAck(message: ExportMessage): void {
    message.acked = true;
    message.ackedAt = this.now();
  }

  list(): MessageInfo[] {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const imports: MessageInfo[] = [...this.imports.values()].map((m) => ({
      messageId: m.messageId, activityId: m.job.activityId, direction: "import", status: this.importStatus(m),
      executionId: this.pickedUp(m) ? m.execution.executionId : undefined, externalIdentifier: m.externalIdentifier, company: m.company,
      enqueuedAt: iso(m.enqueuedAt)!, records: m.execution.files?.reduce((n, f) => n + f.rows.length, 0),
    }));
    const exports: MessageInfo[] = this.exports.map((m) => ({
      messageId: m.messageId, activityId: m.job.activityId, direction: "export", status: m.acked ? "Acked" : m.dequeueCount > 0 ? "Dequeued" : "Enqueued",
      correlationId: m.correlationId, dequeueCount: m.dequeueCount, acked: m.acked, enqueuedAt: iso(m.enqueuedAt)!, lastDequeuedAt: iso(m.lastDequeuedAt),
      records: m.rows.length,
    }));
    return [...imports, ...exports];
  }
}
