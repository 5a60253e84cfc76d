import { randomUUID } from "node:crypto";
import { poisonQueue } from "../names.js";
import type { Clock, QueueMessage, WorkQueue } from "../ports.js";
import { assertQueueName, decodeQueueMessage, delaySeconds, encodeQueueMessage, leaseLostError, MAX_RECEIVE_BATCH } from "./queueMessages.js";

interface Held {
  id: string;
  popReceipt: string;
  dequeueCount: number;
  text: string;
  visibleAt: number;
  seq: number;
}

/**
 * The in-memory WorkQueue. Same rules as Storage Queues: base64 JSON with the 64 KB limit, delays
 * and leases in whole seconds capped at 7 days, a new pop receipt on every receive and abandon,
 * roughly FIFO. Time comes from the injected Clock, so tests advance time instead of sleeping, and
 * `nextVisibleAt()` lets an in-process runner sleep exactly until the next message is due.
 */
export class MemoryWorkQueue<T = unknown> implements WorkQueue<T> {
  private readonly messages = new Map<string, Held>();
  private seq = 0;
  private poisonQueueInstance?: MemoryWorkQueue<T>;

  constructor(readonly name: string, private readonly clock: Pick<Clock, "now">) {
    assertQueueName(name);
  }

  async ensure(): Promise<void> {}

  poison(): MemoryWorkQueue<T> {
    this.poisonQueueInstance ??= new MemoryWorkQueue<T>(poisonQueue(this.name), this.clock);
    return this.poisonQueueInstance;
  }

  async send(message: T, options?: { delayMs?: number }): Promise<void> {
    const text = encodeQueueMessage(message, this.name);
    const id = randomUUID();
    this.messages.set(id, { id, popReceipt: randomUUID(), dequeueCount: 0, text, visibleAt: this.clock.now() + delaySeconds(options?.delayMs) * 1000, seq: this.seq++ });
  }

  async receive(max: number, visibilityMs: number): Promise<QueueMessage<T>[]> {
    const count = Math.min(Math.floor(max), MAX_RECEIVE_BATCH);
    if (count < 1) return [];
    const now = this.clock.now();
    const lease = Math.max(1, delaySeconds(visibilityMs)) * 1000;
    const due = [...this.messages.values()].filter((m) => m.visibleAt <= now).sort((a, b) => a.seq - b.seq).slice(0, count);
    return due.map((m) => {
      m.dequeueCount += 1;
      m.popReceipt = randomUUID();
      m.visibleAt = now + lease;
      return { id: m.id, popReceipt: m.popReceipt, dequeueCount: m.dequeueCount, body: decodeQueueMessage(m.text) as T };
    });
  }

  async complete(message: QueueMessage<T>): Promise<void> {
    const held = this.messages.get(message.id);
    if (!held) return;
    if (held.popReceipt !== message.popReceipt) throw leaseLostError(this.name, message.id);
    this.messages.delete(message.id);
  }

  async abandon(message: QueueMessage<T>, delayMs: number): Promise<void> {
    const held = this.messages.get(message.id);
    if (!held) return;
    if (held.popReceipt !== message.popReceipt) throw leaseLostError(this.name, message.id);
    held.popReceipt = randomUUID();
    held.visibleAt = this.clock.now() + delaySeconds(delayMs) * 1000;
  }

  async extend(message: QueueMessage<T>, visibilityMs: number): Promise<void> {
    const held = this.messages.get(message.id);
    if (!held || held.popReceipt !== message.popReceipt) throw leaseLostError(this.name, message.id);
    held.popReceipt = randomUUID();
    held.visibleAt = this.clock.now() + Math.max(1, delaySeconds(visibilityMs)) * 1000;
    message.popReceipt = held.popReceipt;
  }

  async approximateCount(): Promise<number> {
    return this.messages.size;
  }

  /** Epoch ms at which the earliest message is (or was) visible; undefined when the queue is empty. */
  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.messages.values()) if (next === undefined || m.visibleAt < next) next = m.visibleAt;
    return next;
  }
}
