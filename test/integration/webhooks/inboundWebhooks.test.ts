import { afterEach, describe, expect, it } from "vitest";
import { Settings } from "../../../shared/names.js";
import { drainMemoryQueues } from "../../../shared/runtime/queuePump.js";
import { setServices } from "../../../shared/runtime/services.js";
import { SYSTEM_USER_ID } from "../../emulators/dataverse/index.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appSignature, invocation, request } from "../../unit/api/webhooksFixtures.js";

process.env.D365_SYNC_LOCAL_RUNNER = "1";
const { appWebhook } = await import("../../../functions/appWebhook.js");
const { powerAutomateInbound } = await import("../../../functions/powerAutomateInbound.js");

let h: SyncHarness;
afterEach(async () => {
  setServices(undefined);
  await h?.stop();
});

async function synced(): Promise<void> {
  h = await startSyncHarness();
  expect((await h.cycle()).status).toBe("succeeded");
  setServices(h.services);
}
const work = () => drainMemoryQueues(h.services, async (queue, _m, error) => { throw new Error(`poisoned on ${queue}: ${error}`); });
const contactOf = (mentorId: string) => h.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === mentorId)!;

describe("app webhook to Dataverse", () => {
  it("writes an app change named in a signed notice to its Dataverse row", async () => {
    await synced();
    h.stack.app.patch("mentor", "m-0002", { lastName: "Berg", score: 91 });
    const since = Date.now();
    const body = JSON.stringify({ entity: "mentor", ids: ["m-0002"] });
    const timestamp = String(Math.floor(Date.now() / 1000));

    const res = await appWebhook(request({ path: "/api/webhooks/app", body, headers: appSignature(body, timestamp, h.stack.env[Settings.appWebhookSecret]) }), invocation("appWebhook"));
    await work();

    expect(res).toMatchObject({ status: 202, jsonBody: { accepted: 1 } });
    expect(contactOf("m-0002")).toMatchObject({ lastname: "Berg", hlf_score: 91 });
    // One conditional PATCH (a $batch part with If-Match on the version it read) with only the changed columns.
    const writes = h.dataverseWrites(since).filter((w) => w.inBatch);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ method: "PATCH", path: expect.stringContaining(`contacts(${contactOf("m-0002").contactid})`) });
    const columns = JSON.parse(writes[0].body) as Record<string, unknown>;
    expect(columns).toEqual({ lastname: "Berg", hlf_score: 91 });
  });
});

describe("Power Automate inbound to the app", () => {
  it("sends only the changed mapped fields of the posted row to the app", async () => {
    await synced();
    const id = contactOf("m-0003").contactid as string;
    h.stack.dataverse.ctx.ops.update("contact", id, { emailaddress1: "new@example.org" }, SYSTEM_USER_ID);
    const since = h.stack.app.requests.length;
    const row = { ...h.stack.dataverse.row("contact", id), SdkMessage: "Update" };

    const res = await powerAutomateInbound(request({
      path: "/api/inbound/dataverse/mentors", body: JSON.stringify({ body: row }),
      headers: { "x-functions-key": h.stack.env[Settings.dataverseWebhookKey] }, params: { mapping: "mentors" },
    }), invocation("powerAutomateInbound"));
    await work();

    expect(res.status).toBe(202);
    const writes = h.appWrites(since);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ method: "PATCH", path: "/sync/mentor/m-0003" });
    expect((writes[0].body as { data: unknown }).data).toEqual({ email: "new@example.org" });
  });
});
