import { afterEach, describe, expect, it } from "vitest";
import { Settings } from "../../../shared/names.js";
import { startLocalRunner, type LocalRunner } from "../../../shared/runtime/localRunner.js";
import { setServices } from "../../../shared/runtime/services.js";
import { SYSTEM_USER_ID } from "../../emulators/dataverse/index.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

let h: SyncHarness;
let runner: LocalRunner | undefined;
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  setServices(undefined);
  await h?.stop();
});

/**
 * The whole path over HTTP: the emulator delivers its webhooks (RemoteExecutionContext, WCF
 * escapes, Dataverse's headers and auth styles) to the route served by the local runner, whose queue
 * pump runs the record-event worker.
 */
async function start(): Promise<void> {
  h = await startSyncHarness();
  expect((await h.cycle()).status).toBe("succeeded");
  runner = await startLocalRunner(h.services, { host: "127.0.0.1", port: 0, schedule: "" });
}

describe("webhooks delivered by the Dataverse emulator", () => {
  it("syncs a user's Dataverse edit to the app through a WebhookKey-authenticated delivery", async () => {
    await start();
    h.stack.dataverse.webhooks.register({
      table: "contact", messages: ["Update"], url: `${runner!.url}/api/webhooks/dataverse`,
      authType: "WebhookKey", authValue: h.stack.env[Settings.dataverseWebhookKey],
    });
    const contact = h.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === "m-0005")!;
    const since = h.stack.app.requests.length;

    h.stack.dataverse.ctx.ops.update("contact", contact.contactid as string, { hlf_certificationstatus: 100000001 }, SYSTEM_USER_ID);
    await h.stack.dataverse.webhooks.idle();
    await runner!.idle();

    expect(h.stack.dataverse.webhooks.deliveries()).toMatchObject([{ status: "succeeded", httpStatus: 202 }]);
    expect(h.logs.filter((l) => l.message === "Dataverse webhook accepted")).toHaveLength(1);
    const writes = h.appWrites(since);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ method: "PATCH", path: "/sync/mentor/m-0005", body: { data: { certificationStatus: "expired" } } });
  });

  it("records a failed delivery (401) when the registration carries a wrong key", async () => {
    await start();
    h.stack.dataverse.webhooks.register({
      table: "contact", messages: ["Update"], url: `${runner!.url}/api/webhooks/dataverse`,
      authType: "WebhookKey", authValue: "not-the-configured-key-000000",
    });
    const contact = h.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === "m-0005")!;
    const since = h.stack.app.requests.length;

    h.stack.dataverse.ctx.ops.update("contact", contact.contactid as string, { firstname: "Nobody" }, SYSTEM_USER_ID);
    await h.stack.dataverse.webhooks.idle();
    await runner!.idle();

    expect(h.stack.dataverse.webhooks.deliveries()).toMatchObject([{ status: "failed", httpStatus: 401, statuscode: 31 }]);
    expect(h.appWrites(since)).toEqual([]);
  });

  it("ignores the deliveries caused by the integration's own writes", async () => {
    await start();
    h.stack.dataverse.webhooks.register({
      table: "contact", messages: ["Create", "Update"], url: `${runner!.url}/api/webhooks/dataverse`,
      authType: "WebhookKey", authValue: h.stack.env[Settings.dataverseWebhookKey],
    });
    h.stack.app.patch("mentor", "m-0001", { score: 12 });

    // The run goes through the runner, the one consumer of its queues (an in-process cycle beside
    // the runner's pump would race it for the run message).
    const started = await fetch(`${runner!.url}/api/sync`, {
      method: "POST", headers: { "content-type": "application/json", "x-functions-key": h.services.settings.adminApiKey! }, body: JSON.stringify({ mode: "delta" }),
    });
    expect(started.status).toBe(202);
    const { runs } = (await started.json()) as { runs: { mapping: string; runId: string }[] };
    await runner!.idle();
    const mentors = await h.services.state.getRun(runs.find((r) => r.mapping === "mentors")!.runId);
    expect(mentors!.toDataverse.updated).toBe(1);
    await h.stack.dataverse.webhooks.idle();

    expect(h.stack.dataverse.webhooks.deliveries()).toMatchObject([{ status: "succeeded", httpStatus: 202 }]);
    // The runner's pump would hide an enqueued event from the queue count: the handler's log tells.
    expect(h.logs.filter((l) => l.message === "Dataverse webhook accepted")).toEqual([]);
    expect(await h.services.queues.recordEvents.approximateCount()).toBe(0);
  });

  it("syncs an app edit to Dataverse through the sample app's signed notice", async () => {
    await start();
    h.stack.app.setNotify({ url: `${runner!.url}/api/webhooks/app`, secret: h.stack.env[Settings.appWebhookSecret] });

    h.stack.app.patch("mentor", "m-0006", { hourlyRate: 412.5 });
    await h.stack.app.notifyIdle();
    await runner!.idle();

    expect(h.stack.app.notices).toEqual([{ entity: "mentor", ids: ["m-0006"], status: 202 }]);
    expect(h.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === "m-0006")).toMatchObject({ hlf_hourlyrate: 412.5 });
  });

  it("refuses notices signed with another secret", async () => {
    await start();
    h.stack.app.setNotify({ url: `${runner!.url}/api/webhooks/app`, secret: "some-other-secret-0123456789" });

    h.stack.app.patch("mentor", "m-0006", { hourlyRate: 1 });
    await h.stack.app.notifyIdle();

    expect(h.stack.app.notices).toEqual([{ entity: "mentor", ids: ["m-0006"], status: 401 }]);
  });
});
