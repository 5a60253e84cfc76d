import type { InvocationContext } from "@azure/functions";
import { decodeQueueMessage } from "../shared/state/queueMessages.js";
import { getServices, type Services } from "../shared/runtime/services.js";
import { servicesForMessage } from "../shared/tenants/tenantRequest.js";
import { FAIR_SHARE_DEFER_MS, FairShare } from "../shared/tenants/fairShare.js";
import { tenantOfMessage } from "../shared/tenants/tenantIds.js";
import { servesTenants } from "../shared/tenants/tenants.js";
import type { WorkQueue } from "../shared/ports.js";
import type { RecordEventMessage, RunMessage, WriteMessage } from "../shared/sync/writeOps.js";
import { handleFinopsRunMessage } from "../shared/finops/finopsTriggers.js";
import { EXTRA_EVENTS, eventMessage, settleEvents, takeEvents } from "../shared/runtime/recordEventBatch.js";

/** Queue handlers: decode the message, call the engine. Thrown errors let the host retry, then poison. */
export async function runWorker(message: unknown, context: InvocationContext): Promise<void> {
  const run = decodeQueueMessage(message) as RunMessage;
  // A run of an F&O job (the mapping file's `finops` array) goes to the job's runner, not the engine.
  if (!(run as { tenant?: string }).tenant && (await handleFinopsRunMessage(await getServices(), run))) return;
  await fairly(run, dequeueCountOf(context), context, (s) => s.queues.runs, async ({ engine }) => {
    context.log(`planning run ${run.runId} of ${run.mapping} (${run.mode})`);
    await engine.handleRun(run);
  });
}

export async function writeWorker(message: unknown, context: InvocationContext): Promise<void> {
  const write = decodeQueueMessage(message) as WriteMessage;
  await fairly(write, dequeueCountOf(context), context, (s) => write.direction === "toDataverse" ? s.queues.dataverseWrites : s.queues.appWrites, async ({ engine }) => {
    const outcome = await engine.handleWrite(write);
    context.log(`${write.mapping} ${write.direction}: ${outcome.finished} finished, ${outcome.retries.length} to retry, ${outcome.failures.length} dead-lettered`);
  });
}

/**
 * A record-events message (one notice, or a group of notices that arrived together), with the
 * other messages visible on its queue now (shared/runtime/recordEventBatch.ts): their notices are
 * handled together, per tenant. Each message is settled only after each of its notices synced or is
 * pending; failed notices are delivered again (settleEvents). The trigger is the host's to
 * complete (returning) or retry, then poison (throwing); the others are this worker's.
 */
export async function recordEventWorker(message: unknown, context: InvocationContext): Promise<void> {
  const trigger = eventMessage(decodeQueueMessage(message), dequeueCountOf(context));
  const base = await getServices();
  const taken = await takeEvents(base.queues.recordEvents, base.logger, Math.max(0, EXTRA_EVENTS + 1 - trigger.notices.length));
  const failed = new Set<RecordEventMessage>();
  let triggerError: unknown;
  try {
    const byTenant = new Map<string, RecordEventMessage[]>();
    // The most deliveries any notice of a tenant has had (a tenant's notices are deferred together).
    const deliveries = new Map<string, number>();
    for (const { notices, deliveries: count } of [trigger, ...taken.messages]) {
      for (const notice of notices) {
        const tenant = tenantOfMessage(notice);
        byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), notice]);
        deliveries.set(tenant, Math.max(deliveries.get(tenant) ?? 0, count));
      }
    }
    const inTrigger = new Set(trigger.notices);
    for (const [tenant, events] of byTenant) {
      await fairly(events, deliveries.get(tenant) ?? 1, context, (s) => s.queues.recordEvents, async ({ engine }) => {
        const result = await engine.handleRecordEvents(events);
        for (const f of result.failed) failed.add(f.event);
        triggerError ??= result.failed.find((f) => inTrigger.has(f.event))?.error;
        context.log(`${events.length} record event(s): ${result.outcome.counts.created + result.outcome.counts.updated + result.outcome.counts.deleted} write(s), ${result.failed.length} to deliver again`);
      }).catch((e: unknown) => {
        // This tenant's notices come again; the other tenants' go on.
        for (const ev of events) failed.add(ev);
        if (events.some((ev) => inTrigger.has(ev))) triggerError ??= e;
      });
    }
  } catch (e) {
    for (const m of taken.messages) for (const notice of m.notices) failed.add(notice);
    await taken.settle(failed, e);
    throw e;
  }
  await taken.settle(failed, triggerError);
  if ((await settleEvents(base.queues.recordEvents, trigger, failed, base.logger, triggerError)) === "deliver again") throw triggerError ?? new Error("a record event of this message failed");
}

const fairShare = new FairShare();

/** The host's delivery count of the triggering message (1 on its first delivery). */
const dequeueCountOf = (context: InvocationContext): number => Number(context.triggerMetadata?.dequeueCount ?? 1) || 1;

/**
 * Runs messages of one tenant (`tenant`, absent = default) within the tenant's fair share of this
 * instance's workers (shared/tenants/fairShare.ts); over it, the messages go back on their queue,
 * shortly delayed, as new messages (a deferral is no failed delivery: nothing counts toward the
 * poison queue). Messages delivered before run over the cap. Messages of a tenant deleted meanwhile are dropped.
 */
async function fairly(bodies: object | readonly object[], dequeueCount: number, context: InvocationContext, queueOf: (s: Services) => WorkQueue<any>, work: (s: Services) => Promise<void>): Promise<void> {
  const all = Array.isArray(bodies) ? bodies : [bodies];
  const base = await getServices();
  const services = await servicesForMessage(all[0], base);
  if (!services) {
    context.warn(`dropped ${all.length} queue message(s) of a tenant that is no longer registered`);
    return;
  }
  const tenant = tenantOfMessage(all[0]);
  const shared = await servesTenants(base);
  if (!fairShare.tryEnter(tenant, shared, dequeueCount)) {
    // The tenant's own queue view tags the message with its tenant again.
    for (const body of all) {
      const { tenant: _t, ...message } = body as { tenant?: string };
      await queueOf(services).send(message, { delayMs: FAIR_SHARE_DEFER_MS });
    }
    context.log(`tenant ${tenant} is at its fair share (${fairShare.cap} at once): ${all.length} message(s) deferred`);
    return;
  }
  try {
    await work(services);
  } finally {
    fairShare.leave(tenant);
  }
}
