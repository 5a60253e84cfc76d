import { afterEach, describe, expect, it } from "vitest";
import { MAX_CORRELATION_ID_CHARS } from "../../../shared/api/enqueueEvents.js";
import { setServices } from "../../../shared/runtime/services.js";
import { createStorageQueue, type StorageWorkQueue } from "../../../shared/state/storageQueue.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { adaptDocumentedContext, DOC_IDS, fakeServices, invocation, KEY, request } from "../../unit/api/webhooksFixtures.js";

process.env.D365_SYNC_LOCAL_RUNNER = "1";
const { dataverseWebhook } = await import("../../../functions/dataverseWebhook.js");

const DOCUMENTED_CORRELATION_ID = "b374239d-4233-41a9-8b17-a86cb4f737b5";

afterEach(() => setServices(undefined));

/** The webhook handler over a real Storage queue (Azurite), whose 64 KB message limit is the one that lost the notice. */
async function withStorageQueue() {
  const f = fakeServices({ dataverseKey: KEY });
  const queue: StorageWorkQueue<RecordEventMessage> = await createStorageQueue({ connectionString: azuriteConnectionString(), name: uniqueName("events") });
  await queue.ensure();
  (f.services.queues as { recordEvents: unknown }).recordEvents = queue;
  setServices(f.services);
  return { f, queue };
}

async function post(body: string, headers: Record<string, string> = {}) {
  return dataverseWebhook(request({ path: `/api/webhooks/dataverse?code=${KEY}`, body, headers }), invocation("dataverseWebhook"));
}

describe("webhook metadata copied into queue messages", () => {
  it("enqueues a valid delivery whose CorrelationId is 60 KB, with the id capped", async () => {
    // Prepare
    const { queue } = await withStorageQueue();
    const longId = `corr-${"x".repeat(60_000)}`;
    const body = adaptDocumentedContext().replace(DOCUMENTED_CORRELATION_ID, longId);

    // Act
    const res = await post(body);

    // Assess
    expect(res.status).toBe(202);
    const [message] = await queue.receive(32, 60_000);
    expect(message.body).toMatchObject({ mapping: "mentors", side: "dataverse", id: DOC_IDS.record, message: "Update" });
    expect(message.body.correlationId!.length).toBeLessThanOrEqual(MAX_CORRELATION_ID_CHARS);
    expect(message.body.correlationId!.startsWith("corr-xxxx")).toBe(true);
    expect(message.body.correlationId).toContain("truncated");
  });

  it("caps an oversized x-ms-correlation-request-id header the same way", async () => {
    const { queue } = await withStorageQueue();

    const res = await post(adaptDocumentedContext(), { "x-ms-correlation-request-id": "h".repeat(70_000) });

    expect(res.status).toBe(202);
    const messages = await queue.receive(32, 60_000);
    expect(messages).toHaveLength(1);
    expect(messages[0].body.correlationId!.length).toBeLessThanOrEqual(MAX_CORRELATION_ID_CHARS);
  });

  it("keeps an ordinary correlation id whole", async () => {
    const { queue } = await withStorageQueue();

    await post(adaptDocumentedContext());

    const [message] = await queue.receive(32, 60_000);
    expect(message.body.correlationId).toBe(DOCUMENTED_CORRELATION_ID);
  });
});
