import { afterEach, describe, expect, it } from "vitest";
import { Settings } from "../../../shared/names.js";
import { drainMemoryQueues } from "../../../shared/runtime/queuePump.js";
import { setServices } from "../../../shared/runtime/services.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appSignature, invocation, request } from "../../unit/api/webhooksFixtures.js";
import { activityMapping, configWith, contactRowIdOf } from "./activityFixtures.js";

const { appWebhook } = await import("../../../functions/appWebhook.js");

let h: SyncHarness;
afterEach(async () => {
  setServices(undefined);
  await h?.stop();
});

const work = () => drainMemoryQueues(h.services, async (queue, _m, error) => { throw new Error(`poisoned on ${queue}: ${error}`); });

describe("what sends activities", () => {
  it("sends only the activities logged since the last run on the nightly delta", async () => {
    h = await startSyncHarness({ config: configWith(activityMapping()) });
    h.stack.app.put("activity", "a-1", { type: "task", mentorId: "m-0001", subject: "First" });
    await h.cycle();
    h.stack.app.put("activity", "a-2", { type: "task", mentorId: "m-0001", subject: "Second" });
    const since = h.stack.dataverse.log.entries().length;

    const summary = await h.cycle();

    expect(summary.mappings.find((m) => m.name === "activities")!.toDataverse).toMatchObject({ created: 1, failed: 0 });
    expect(h.stack.dataverse.rows("task").map((t) => t.subject).sort()).toEqual(["First", "Second"]);
    // One existence read and one CreateMultiple of the new task: the first is not read or written again.
    const taskCalls = h.stack.dataverse.log.entries().slice(since).filter((e) => e.path.includes("/tasks"));
    expect(taskCalls.map((e) => [e.method, e.status])).toEqual([["GET", 200], ["POST", 200]]);
    expect(taskCalls[1].body).toContain("Second");
    expect(taskCalls[1].body).not.toContain("First");
  });

  it("sends an activity named in the app's signed change notice at once", async () => {
    h = await startSyncHarness({ config: configWith(activityMapping()) });
    await h.cycle();
    setServices(h.services);
    h.stack.app.put("activity", "a-now", { type: "phonecall", mentorId: "m-0002", subject: "Import now" });
    const body = JSON.stringify({ entity: "activity", ids: ["a-now"] });
    const timestamp = String(Math.floor(Date.now() / 1000));

    const res = await appWebhook(request({ path: "/api/webhooks/app", body, headers: appSignature(body, timestamp, h.stack.env[Settings.appWebhookSecret]) }), invocation("appWebhook"));
    await work();

    expect(res).toMatchObject({ status: 202, jsonBody: { accepted: 1 } });
    expect(h.stack.dataverse.rows("phonecall").filter((r) => r.subject === "Import now")).toEqual([expect.objectContaining({ subject: "Import now", _regardingobjectid_value: contactRowIdOf(h, "m-0002"), statecode: 1, statuscode: 2 })]);
  });
});
