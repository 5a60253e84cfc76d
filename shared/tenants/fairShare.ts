import { HostQueueSettings } from "../runtime/queuePump.js";

/**
 * Fair share of one instance's queue workers between tenants. The host hands a worker up to
 * `batchSize` (8) messages at once, from queues all tenants share; without a cap one tenant's
 * 200,000-record load (hundreds of write messages) would hold all 8 while another tenant's nightly
 * run waits behind it. With a cap of half the batch, a tenant runs at most 4 messages at once per
 * instance: its next message is put back on its queue (a short delay, nothing lost, its order among
 * its own messages kept by the delay) and the slot goes to whoever is next in the queue.
 *
 * Why 4: the host runs up to batchSize + newBatchThreshold (8 + 4 in host.json) messages of a queue
 * per instance, and fetches a queue's next batch only when those running fall to newBatchThreshold
 * (4). A share of at most newBatchThreshold means one tenant's messages alone never stop the host
 * fetching: another tenant's message is received at the next poll, and with several tenants busy it
 * waits for at most one of their messages to finish (docs/multi-tenant.md, "Fair share").
 *
 * The cap holds only while more than one tenant exists (registered tenants besides `default`): a
 * single-tenant deployment keeps every slot, as before.
 */
export class FairShare {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly cap: number = Math.max(1, Math.floor(HostQueueSettings.batchSize / 2))) {}

  /**
   * True when `tenant` may take another slot now (call `leave` when done); false: defer the message.
   * `dequeueCount` is the message's (the host's `triggerMetadata.dequeueCount`): a message delivered
   * before (its handler failed, or its worker died) runs even over the cap. A deferral sends a fresh
   * copy whose dequeue count starts again, so deferring a retry would erase its failed attempts, and
   * a message that keeps failing under a busy tenant could escape the poison queue for ever. First
   * deliveries are never a failure to count: each deferral completes its message and sends a new one.
   */
  tryEnter(tenant: string, shared: boolean, dequeueCount = 1): boolean {
    const n = this.inFlight.get(tenant) ?? 0;
    if (shared && n >= this.cap && dequeueCount <= 1) return false;
    this.inFlight.set(tenant, n + 1);
    return true;
  }

  leave(tenant: string): void {
    const n = (this.inFlight.get(tenant) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(tenant);
    else this.inFlight.set(tenant, n);
  }
}

/** How long a deferred message waits before it is visible again. */
export const FAIR_SHARE_DEFER_MS = 2_000;
