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

/** Queue handlers: decode the message, call the engine. Thrown errors let the host retry, then poison. */
export async function runWorker(message: unknown, context: InvocationContext): Promise<void> {
  const run = decodeQueueMessage(message) as RunMessage;
  // A run of an F&O job (the mapping file's `finops` array) goes to the job's runner, not the engine.
  if (!(run as { tenant?: string }).tenant && (await handleFinopsRunMessage(await getServices(), run))) return;
  await fairly(run, context, (s) => s.queues.runs, async ({ engine }) => {
    context.log(`planning run ${run.runId} of ${run.mapping} (${run.mode})`);
    await engine.handleRun(run);
  });
}

export async function writeWorker(message: unknown, context: InvocationContext): Promise<void> {
  const write = decodeQueueMessage(message) as WriteMessage;
  await fairly(write, context, (s) => write.direction === "toDataverse" ? s.queues.dataverseWrites : s.queues.appWrites, async ({ engine }) => {
    const outcome = await engine.handleWrite(write);
    context.log(`${write.mapping} ${write.direction}: ${outcome.finished} finished, ${outcome.retries.length} to retry, ${outcome.failures.length} dead-lettered`);
  });
}

export async function recordEventWorker(message: unknown, context: InvocationContext): Promise<void> {
  const ev = decodeQueueMessage(message) as RecordEventMessage;
  await fairly(ev, context, (s) => s.queues.recordEvents, async ({ engine }) => {
    const outcome = await engine.handleRecordEvent(ev);
    context.log(`${ev.mapping} ${ev.side} ${ev.id}: ${outcome.finished} write(s)`);
  });
}

const fairShare = new FairShare();

/**
 * Runs a message for its tenant (`tenant`, absent = default) within the tenant's fair share of this
 * instance's workers (shared/tenants/fairShare.ts); over it, the message goes back on its queue,
 * shortly delayed. A message of a tenant deleted meanwhile is dropped.
 */
async function fairly(body: object, context: InvocationContext, queueOf: (s: Services) => WorkQueue<any>, work: (s: Services) => Promise<void>): Promise<void> {
  const base = await getServices();
  const services = await servicesForMessage(body, base);
  if (!services) {
    context.warn("dropped a queue message of a tenant that is no longer registered");
    return;
  }
  const tenant = tenantOfMessage(body);
  const shared = await servesTenants(base);
  if (!fairShare.tryEnter(tenant, shared)) {
    // The tenant's own queue view tags the message with its tenant again.
    const { tenant: _t, ...message } = body as { tenant?: string };
    await queueOf(services).send(message, { delayMs: FAIR_SHARE_DEFER_MS });
    context.log(`tenant ${tenant} is at its fair share (${fairShare.cap} at once): message deferred`);
    return;
  }
  try {
    await work(services);
  } finally {
    fairShare.leave(tenant);
  }
}
