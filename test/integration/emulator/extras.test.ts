import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { batchBody, readBatchResponse, type WireResponse } from "../../unit/emulator/batchWire.js";
import { startReceiver, type Receiver } from "../../unit/emulator/receiver.js";
import { CLIENT_ID, startHarness, type Harness } from "./extrasHarness.js";

const CONTACT = "Microsoft.Dynamics.CRM.contact";
type KV = { key: string; value: any };
const kv = (list: KV[]) => Object.fromEntries(list.map((p) => [p.key, p.value]));

describe("emulator extras over HTTP", () => {
  let h: Harness;
  let receiver: Receiver;

  beforeAll(async () => {
    h = await startHarness();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await h?.emulator.stop();
    await receiver?.close();
  });
  afterEach(() => {
    h.emulator.faults.clear();
    receiver.received.length = 0;
    receiver.script = [];
  });

  const mentors = () => h.emulator.rows("contact").map((r) => r.hlf_mentorid as string);

  it("rolls back a failing changeset but keeps the other parts under continue-on-error", async () => {
    // Prepare
    const body = batchBody("batch_x", [
      [
        { method: "POST", url: "/api/data/v9.2/contacts", body: { hlf_mentorid: "m-b1", firstname: "Rolled" }, contentId: "1" },
        { method: "PATCH", url: "$1", body: { firstname: "x".repeat(51) }, contentId: "2" },
      ],
      { method: "POST", url: `${h.emulator.serviceRoot}contacts`, body: { hlf_mentorid: "m-b2", firstname: "Kept" } },
    ]);
    // Act
    const response = await h.call("POST", "$batch", { body, headers: { "content-type": "multipart/mixed; boundary=batch_x", prefer: "odata.continue-on-error" } });
    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get("preference-applied")).toBe("odata.continue-on-error");
    expect(response.headers.get("x-ms-dop-hint")).toBe("50");
    const [failed, kept] = readBatchResponse(response.headers.get("content-type")!, await response.text()) as WireResponse[];
    expect(failed.status).toBe(400);
    expect(failed.contentId).toBe("2");
    expect(kept.status).toBe(204);
    expect(mentors()).toContain("m-b2");
    expect(mentors()).not.toContain("m-b1");
    const inner = h.emulator.log.entries().filter((e) => e.inBatch);
    expect(inner.length).toBeGreaterThanOrEqual(3);
    expect(inner.every((e) => e.userId === h.emulator.userIdFor(CLIENT_ID))).toBe(true);
  });

  it("binds a lookup to a record created earlier in the same changeset", async () => {
    const body = batchBody("batch_y", [[
      { method: "POST", url: "hlf_mentorgroups", body: { hlf_name: "West", hlf_groupcode: "g-west" }, contentId: "g" },
      { method: "POST", url: "contacts", body: { hlf_mentorid: "m-b3", "hlf_GroupId@odata.bind": "$g" }, contentId: "m" },
    ]]);
    const response = await h.call("POST", "$batch", { body, headers: { "content-type": "multipart/mixed; boundary=batch_y" } });
    expect(response.status).toBe(200);
    const group = h.emulator.rows("hlf_mentorgroup").find((g) => g.hlf_groupcode === "g-west")!;
    const mentor = h.emulator.rows("contact").find((c) => c.hlf_mentorid === "m-b3")!;
    expect(mentor._hlf_groupid_value).toBe(group.hlf_mentorgroupid);
  });

  it("upserts with UpsertMultiple and delivers one webhook per Target with the writer as user", async () => {
    // Prepare
    const hook = h.emulator.webhooks.register({ table: "contact", messages: ["Create", "Update"], url: receiver.url, authType: "HttpHeader", authValue: { "x-hook": "s" } });
    // Act
    const response = await h.call("POST", "contacts/Microsoft.Dynamics.CRM.UpsertMultiple", {
      body: JSON.stringify({ Targets: [
        { "@odata.type": CONTACT, "@odata.id": "contacts(hlf_mentorid='m-0001')", hlf_score: 99 },
        { "@odata.type": CONTACT, "@odata.id": "contacts(hlf_mentorid='m-u2')", firstname: "New", "hlf_GroupId@odata.bind": "/hlf_mentorgroups(hlf_groupcode='g-north')" },
      ] }),
    });
    await h.emulator.webhooks.idle();
    h.emulator.webhooks.unregister(hook);
    // Assess
    expect(response.status).toBe(204);
    const payloads = receiver.received.map((r) => JSON.parse(r.body));
    expect(payloads.map((p) => p.MessageName).sort()).toEqual(["Create", "Update"]);
    expect(payloads.every((p) => p.UserId === h.emulator.userIdFor(CLIENT_ID))).toBe(true);
    const update = payloads.find((p) => p.MessageName === "Update");
    const attributes = kv(kv(update.InputParameters).Target.Attributes);
    expect(attributes.hlf_score).toBe(99);
    expect(attributes).not.toHaveProperty("firstname");
    expect(attributes).not.toHaveProperty("versionnumber");
    expect(attributes.modifiedby).toMatchObject({ LogicalName: "systemuser" });
    const created = kv(kv(payloads.find((p) => p.MessageName === "Create").InputParameters).Target.Attributes);
    expect(created.hlf_groupid).toMatchObject({ LogicalName: "hlf_mentorgroup", Id: "9b3f6c1e-0d4a-4e5b-8c2d-000000000001" });
  });

  it("rolls back CreateMultiple when one Target is invalid", async () => {
    const response = await h.call("POST", "contacts/Microsoft.Dynamics.CRM.CreateMultiple", {
      body: JSON.stringify({ Targets: [
        { "@odata.type": CONTACT, hlf_mentorid: "m-c1" },
        { "@odata.type": CONTACT, hlf_mentorid: "m-c2", hlf_score: "not a number" },
      ] }),
    });
    expect(response.status).toBe(400);
    expect(mentors()).not.toContain("m-c1");
  });

  it("answers with a fault scripted through the admin route, once", async () => {
    const added = await fetch(`${h.emulator.origin}/_emulator/faults`, { method: "POST", body: JSON.stringify({ method: "GET", path: "contacts", status: 503, code: "0x8004A001" }) });
    expect(added.status).toBe(201);
    const first = await h.call("GET", "contacts?$select=fullname");
    const second = await h.call("GET", "contacts?$select=fullname");
    expect(first.status).toBe(503);
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe("0x8004A001");
    expect(second.status).toBe(200);
  });
});

describe("emulator service protection over HTTP", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ throttle: { enabled: true, maxRequests: 3, timeScale: 1000, cost: { latencyMs: 0 } } });
  });
  afterAll(async () => {
    await h?.emulator.stop();
  });

  it("answers 429 with Retry-After and the documented code once the request budget is spent", async () => {
    // Act
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await h.call("GET", "contacts?$select=fullname");
      statuses.push(last.status);
    }
    // Assess
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(last!.headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")).toBe("0");
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe("0x80072322");
  });
});
