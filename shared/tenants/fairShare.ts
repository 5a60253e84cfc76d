import { HostQueueSettings } from "../runtime/queuePump.js";

/**
 * Fair share of one instance's queue workers between tenants. The host hands a worker up to
 * `batchSize` (8) messages at once, from queues all tenants share; without a cap one tenant's
 * 200,000-record load (hundreds of write messages) would hold all 8 while another tenant's nightly
 * run waits behind it. With a cap of half the batch, a tenant runs at most 4 messages at once per
 * instance: its next message is put back on its queue (a short delay, nothing lost, its order among
 * its own messages kept by the delay) and the slot goes to whoever is next in the queue.
 *
 * The cap holds only while more than one tenant exists (registered tenants besides `default`): a
 * single-tenant deployment keeps every slot, as before.
 */
export class FairShare {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly cap: number = Math.max(1, Math.floor(HostQueueSettings.batchSize / 2))) {}

  /** True when `tenant` may take another slot now (call `leave` when done); false: defer the message. */
  tryEnter(tenant: string, shared: boolean): boolean {
    const n = this.inFlight.get(tenant) ?? 0;
    if (shared && n >= this.cap) return false;
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
