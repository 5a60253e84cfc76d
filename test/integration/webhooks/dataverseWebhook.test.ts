import { afterEach, describe, expect, it } from "vitest";
import { Settings } from "../../../shared/names.js";
import { drainMemoryQueues } from "../../../shared/runtime/queuePump.js";
import { setServices } from "../../../shared/runtime/services.js";
import { SYSTEM_USER_ID } from "../../emulators/dataverse/index.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { adaptDocumentedContext, invocation, request, truncated } from "../../unit/api/webhooksFixtures.js";

process.env.D365_SYNC_LOCAL_RUNNER = "1";
const { dataverseWebhook } = await import("../../../functions/dataverseWebhook.js");

let h: SyncHarness;
afterEach(async () => {
  setServices(undefined);
  await h?.stop();
});

/** A synced harness and the contact linked to the app's m-0001. */
async function synced(): Promise<{ contactId: string }> {
  h = await startSyncHarness();
  expect((await h.cycle()).status).toBe("succeeded");
  setServices(h.services);
  const contact = h.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === "m-0001")!;
  return { contactId: contact.contactid as string };
}

/** A user's edit in Dataverse (not the integration's application user). */
const editInDataverse = (id: string, body: Record<string, unknown>) => h.stack.dataverse.ctx.ops.update("contact", id, body, SYSTEM_USER_ID);

async function deliver(body: string, headers: Record<string, string> = {}) {
  const key = h.stack.env[Settings.dataverseWebhookKey];
  const res = await dataverseWebhook(request({ path: `/api/webhooks/dataverse?code=${encodeURIComponent(key)}`, body, headers }), invocation("dataverseWebhook"));
  return { status: res.status, body: res.jsonBody };
}

const work = () => drainMemoryQueues(h.services, async (queue, _m, error) => { throw new Error(`poisoned on ${queue}: ${error}`); });
const documented = (contactId: string, user = SYSTEM_USER_ID) =>
  adaptDocumentedContext({ record: contactId, organization: h.stack.dataverse.ctx.organizationId, user });

describe("Dataverse webhook to the app", () => {
  it("accepts the documented example and the change reaches the app through the queue worker", async () => {
    const { contactId } = await synced();
    editInDataverse(contactId, { firstname: "James" });
    const since = h.stack.app.requests.length;

    const res = await deliver(documented(contactId), { "x-ms-correlation-request-id": "b374239d-4233-41a9-8b17-a86cb4f737b5" });
    await work();

    expect(res).toEqual({ status: 202, body: { status: "accepted" } });
    const writes = h.appWrites(since);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ method: "PATCH", path: "/sync/mentor/m-0001", body: { data: { firstName: "James" } } });
    expect(h.stack.app.get("mentor", "m-0001")?.data?.firstName).toBe("James");
  });

  it("syncs a truncated delivery (no InputParameters) by re-reading the row", async () => {
    const { contactId } = await synced();
    editInDataverse(contactId, { lastname: "Glynn", hlf_score: 77 });
    const since = h.stack.app.requests.length;

    const res = await deliver(truncated(documented(contactId)), { "x-ms-dynamics-msg-size-exceeded": "true" });
    await work();

    expect(res.status).toBe(202);
    const writes = h.appWrites(since);
    expect(writes).toHaveLength(1);
    expect(writes[0].body).toMatchObject({ data: { lastName: "Glynn", score: 77 } });
  });

  it("writes a duplicate delivery to the app once", async () => {
    const { contactId } = await synced();
    editInDataverse(contactId, { firstname: "Twice" });
    const since = h.stack.app.requests.length;

    expect((await deliver(documented(contactId))).status).toBe(202);
    expect((await deliver(documented(contactId))).status).toBe(202);
    await work();

    const patches = h.appWrites(since).filter((w) => w.method === "PATCH");
    expect(patches).toHaveLength(1);
  });

  it("ignores an echo of the integration's own write without enqueuing it", async () => {
    const { contactId } = await synced();
    const self = await h.services.dataverse.whoAmI();

    const res = await deliver(documented(contactId, self.UserId));

    expect(res).toEqual({ status: 202, body: { status: "ignored", reason: "echo of the integration's own write" } });
    expect(await h.services.queues.recordEvents.approximateCount()).toBe(0);
  });

  it("refuses a delivery from another organization", async () => {
    const { contactId } = await synced();
    const res = await deliver(adaptDocumentedContext({ record: contactId, user: SYSTEM_USER_ID }));
    expect(res.status).toBe(403);
    expect(await h.services.queues.recordEvents.approximateCount()).toBe(0);
  });
});
