import { errorMessage } from "../errors.js";
import { poisonQueue } from "../names.js";
import type { QueueMessage, WorkQueue } from "../ports.js";
import { MemoryWorkQueue } from "../state/memoryQueue.js";
import type { Services } from "./services.js";

/** host.json values the local pump mirrors (extensions.queues). */
export const HostQueueSettings = { maxDequeueCount: 5, visibilityTimeoutMs: 30_000, batchSize: 8, newBatchThreshold: 4 } as const;

/**
 * Messages of one queue the Functions host runs at once per instance: it takes a batch of
 * `batchSize` and fetches the next batch when those still running fall to `newBatchThreshold`, so
 * up to batchSize + newBatchThreshold (12 with host.json) run together. The local pump keeps that
 * many lanes per queue (it refills a lane as soon as it is free rather than in batches: see
 * ContinuousPump).
 */
export const HOST_QUEUE_CONCURRENCY = HostQueueSettings.batchSize + HostQueueSettings.newBatchThreshold;

type Handler = (body: unknown, meta: { dequeueCount: number }) => Promise<void>;

/**
 * How long a received message stays hidden, and how often the lease is renewed while its handler
 * runs. The Functions host keeps a running message invisible however long the function takes; the
 * local pumps must too: a run message plans a whole load (minutes for 200,000 records), and once its
 * lease ran out a second lane picked it up and planned the same run again, creating records twice.
 */
export interface LeaseSettings {
  ms: number;
  renewEveryMs: number;
}
export const RunningLease: LeaseSettings = { ms: 5 * 60_000, renewEveryMs: 60_000 };

export interface PumpQueue {
  queue: WorkQueue<unknown>;
  handler: Handler;
}

/** The queue handlers, as the Functions host would call them. */
export function engineQueues(s: Services): PumpQueue[] {
  return [
    { queue: s.queues.runs as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleRun(b as never)) },
    { queue: s.queues.dataverseWrites as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleWrite(b as never)) },
    { queue: s.queues.appWrites as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleWrite(b as never)) },
    { queue: s.queues.recordEvents as WorkQueue<unknown>, handler: async (b) => void (await s.engine.handleRecordEvent(b as never)) },
  ];
}

type OnPoison = (queue: string, message: QueueMessage<unknown>, error: string) => Promise<void>;

/**
 * One message with the host's semantics: a handler that throws leaves the message for another
 * attempt after the visibility timeout, and after maxDequeueCount attempts it moves to `<queue>-poison`.
 */
async function handleOne({ queue, handler }: PumpQueue, message: QueueMessage<unknown>, onPoison: OnPoison, lease: LeaseSettings): Promise<void> {
  const keeper = keepLeased(queue, message, lease);
  try {
    await handler(message.body, { dequeueCount: message.dequeueCount }).finally(() => keeper.stop());
    await queue.complete(message);
  } catch (e) {
    if (message.dequeueCount >= HostQueueSettings.maxDequeueCount) {
      await onPoison(queue.name, message, errorMessage(e));
      await queue.complete(message);
    } else {
      await queue.abandon(message, HostQueueSettings.visibilityTimeoutMs);
    }
  }
}

/** Renews the message's lease every `renewEveryMs` until stopped; `stop` waits for a renewal in flight. */
export function keepLeased(queue: WorkQueue<unknown>, message: QueueMessage<unknown>, lease: LeaseSettings): { stop(): Promise<void> } {
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    // A lost lease is not this handler's to fail: complete or abandon reports it when the handler ends.
    renewing = renewing.then(() => queue.extend(message, lease.ms)).catch(() => {});
  }, lease.renewEveryMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return renewing;
    },
  };
}

/**
 * Processes what is visible on each queue once (a batch per queue, all of it awaited). Returns how
 * many messages were handled. A run planned outside a drain relieves its write queues with it.
 */
export async function pumpOnce(queues: PumpQueue[], onPoison: OnPoison, lease: LeaseSettings = RunningLease): Promise<number> {
  let handled = 0;
  for (const pump of queues) {
    const batch = await pump.queue.receive(HostQueueSettings.batchSize, lease.ms);
    handled += batch.length;
    await Promise.all(batch.map((message) => handleOne(pump, message, onPoison, lease)));
  }
  return handled;
}

/**
 * In-process queue processing the way the host keeps a queue busy: each queue has up to `width`
 * messages in flight (default HOST_QUEUE_CONCURRENCY, the host's batchSize + newBatchThreshold) and takes the next one as soon as one finishes, rather than waiting for a
 * whole batch (a batch barrier leaves the service idle while the slowest message of the batch ends:
 * about 10 % of a bulk load's ceiling). Lanes end when their queue has nothing visible; `kick`
 * starts them again.
 */
export class ContinuousPump {
  private readonly lanes = new Map<PumpQueue, number>();
  private waiters: Array<() => void> = [];
  private failure: unknown;
  private halted = false;
  private readonly polls = new Map<PumpQueue, { waitMs: number; at: number }>();

  constructor(readonly queues: PumpQueue[], private readonly onPoison: OnPoison, private readonly width: number = HOST_QUEUE_CONCURRENCY, private readonly lease: LeaseSettings = RunningLease) {}

  /** Starts lanes on every queue up to the width (a lane that finds nothing ends at once). */
  kick(): void {
    if (this.halted) return;
    for (const q of this.queues) while ((this.lanes.get(q) ?? 0) < this.width) this.startLane(q, false);
  }

  /**
   * Polls, as the host polls each queue: one lane on each queue that is due and runs no more than
   * newBatchThreshold messages (a lane that waits on a slow message does not stop the queue), which
   * starts another (up to the width) each time it finds a message. A queue whose lane found nothing
   * is polled again after twice the last wait (from `minMs` up to `maxMs`); one that had messages,
   * after `minMs`. An idle queue so costs one receive per `maxMs`, and a busy one is never waited for.
   */
  poll(minMs: number, maxMs: number): void {
    const now = Date.now();
    for (const q of this.queues) {
      const due = this.polls.get(q) ?? { waitMs: maxMs / 2, at: 0 };
      // The host fetches a queue's next batch once no more than newBatchThreshold of its messages run.
      if ((this.lanes.get(q) ?? 0) > HostQueueSettings.newBatchThreshold || now < due.at) continue;
      this.polls.set(q, due);
      this.startLane(q, true, (handled) => {
        due.waitMs = handled > 0 ? minMs : Math.min(2 * due.waitMs, maxMs);
        due.at = Date.now() + due.waitMs;
      });
    }
  }

  /** Lanes take no more messages; `idle()` then waits for the ones in flight. */
  halt(): void {
    this.halted = true;
  }

  private startLane(q: PumpQueue, rampUp: boolean, ended?: (handled: number) => void): void {
    if (this.halted) return;
    this.lanes.set(q, (this.lanes.get(q) ?? 0) + 1);
    let handled = 0;
    this.lane(q, rampUp, () => void handled++)
      .catch((e: unknown) => void (this.failure ??= e))
      .finally(() => {
        this.lanes.set(q, this.lanes.get(q)! - 1);
        ended?.(handled);
        this.signal();
      });
  }

  /** Messages in flight on these queues (all queues when omitted). */
  busy(queues: readonly WorkQueue<unknown>[] = this.queues.map((q) => q.queue)): number {
    let n = 0;
    for (const [q, lanes] of this.lanes) if (queues.includes(q.queue)) n += lanes;
    return n;
  }

  /** Resolves when a message finishes or a lane ends. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when nothing is in flight; throws what a lane failed with (a poison handler that threw). */
  async idle(): Promise<void> {
    while (this.busy() > 0) await this.next();
    this.rethrow();
  }

  rethrow(): void {
    if (this.failure === undefined) return;
    const e = this.failure;
    this.failure = undefined;
    throw e;
  }

  private async lane(pump: PumpQueue, rampUp: boolean, onHandled: () => void): Promise<void> {
    while (!this.halted) {
      const [message] = await pump.queue.receive(1, this.lease.ms);
      if (!message) return;
      if (rampUp && (this.lanes.get(pump) ?? 0) < this.width) this.startLane(pump, true);
      await handleOne(pump, message, this.onPoison, this.lease);
      onHandled();
      this.signal();
    }
  }

  private signal(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The pump of a drain in progress, so a run planning inside it relieves the same lanes. */
const draining = new WeakMap<Services, ContinuousPump>();

/**
 * Runs the in-memory queues until nothing is left, sleeping (on the services' clock) until the next
 * delayed message is due. Used by `npm run sync`: one complete cycle in one process.
 */
export async function drainMemoryQueues(s: Services, onPoison: OnPoison): Promise<void> {
  const pump = new ContinuousPump(engineQueues(s), onPoison);
  draining.set(s, pump);
  try {
    for (;;) {
      pump.kick();
      await pump.idle();
      const due = pump.queues
        .map(({ queue }) => (queue instanceof MemoryWorkQueue ? queue.nextVisibleAt() : undefined))
        .filter((t): t is number => t !== undefined);
      if (!due.length) return;
      await s.clock.sleep(Math.max(0, Math.min(...due) - s.clock.now()));
    }
  } finally {
    draining.delete(s);
  }
}

export { poisonQueue };

/**
 * Write messages an in-process run may hold while it plans (each carries up to `chunkSize` records):
 * beyond this the planner waits for writes to finish, so memory stays bounded however large the run.
 * Twice the host's batch size, so the lanes always have a message ready when one finishes.
 */
export const RELIEVE_DEPTH = 2 * HostQueueSettings.batchSize;

/**
 * For in-process runs, called as the planner hands out writes. Inside a drain, the drain's lanes
 * apply them while planning goes on, and the planner is held while more than RELIEVE_DEPTH write
 * messages wait. Outside a drain (a run handled directly), writes are applied here, a batch at a
 * time, only while more than RELIEVE_DEPTH wait; the rest stay queued for whoever drains them.
 */
export async function relieveWriteQueues(s: Services): Promise<void> {
  const writeQueues = [s.queues.dataverseWrites, s.queues.appWrites] as WorkQueue<unknown>[];
  const depth = async () => (await s.queues.dataverseWrites.approximateCount()) + (await s.queues.appWrites.approximateCount());
  const shared = draining.get(s);
  if (shared) {
    shared.kick();
    // Only delayed retries left (nothing in flight to wait for): planning goes on.
    while ((await depth()) > RELIEVE_DEPTH && shared.busy(writeQueues) > 0) await shared.next();
    return;
  }
  const pumps = engineQueues(s).filter(({ queue }) => writeQueues.includes(queue));
  const onPoison: OnPoison = async (queue, message, error) => {
    const { recordPoisonMessage } = await import("./poison.js");
    await recordPoisonMessage(s, queue, message.body, error);
  };
  while ((await depth()) > RELIEVE_DEPTH) {
    if (!(await pumpOnce(pumps, onPoison))) return;
  }
}
