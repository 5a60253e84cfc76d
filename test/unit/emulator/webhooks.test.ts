import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebhookDispatcher, type WebhookRegistration } from "../../emulators/dataverse/webhooks.js";
import { fakeContext, type FakeContext } from "./fakeContext.js";
import { startReceiver, type Receiver } from "./receiver.js";

const WRITER = "75c2dd85-e89e-e711-8122-000d3aa2331c";
type KV = { key: string; value: any };
const kv = (list: KV[]) => Object.fromEntries(list.map((p) => [p.key, p.value]));

let receiver: Receiver;
let ctx: FakeContext;
let webhooks: WebhookDispatcher;

beforeEach(async () => {
  receiver = await startReceiver();
  ctx = fakeContext();
  webhooks = new WebhookDispatcher(ctx, { timeoutMs: 300 });
});

afterEach(async () => {
  webhooks.close();
  await receiver.close();
});

function register(extra: Partial<WebhookRegistration> = {}): string {
  return webhooks.register({ table: "contact", messages: ["Create", "Update", "Delete"], url: receiver.url, authType: "WebhookKey", authValue: "k3y", ...extra });
}

describe("WebhookDispatcher", () => {
  it("posts an Update RemoteExecutionContext with only the changed and system columns", async () => {
    // Prepare
    register();
    const id = ctx.ops.create("contact", { hlf_mentorid: "m-1", firstname: "Ada", fullname: "Ada L" }, WRITER);
    await webhooks.idle();
    receiver.received.length = 0;
    // Act
    ctx.ops.update("contact", id, { lastname: "Lovelace", hlf_certificationstatus: 100000001 }, WRITER);
    await webhooks.idle();
    // Assess
    const [delivery] = receiver.received;
    expect(delivery.body).toContain("\\/Date(");
    const payload = JSON.parse(delivery.body);
    expect(payload).toMatchObject({
      MessageName: "Update", Mode: 1, Stage: 40, Depth: 1, PrimaryEntityId: id, PrimaryEntityName: "contact",
      UserId: WRITER, InitiatingUserId: WRITER, OrganizationId: ctx.organizationId, OrganizationName: ctx.organizationName,
      BusinessUnitId: ctx.businessUnitId, OutputParameters: [], SecondaryEntityName: "none",
    });
    expect(payload.OperationCreatedOn).toMatch(/^\/Date\(\d+\)\/$/);
    expect(payload.ParentContext.Stage).toBe(30);
    const target = kv(payload.InputParameters).Target;
    expect(target.__type).toBe("Entity:http://schemas.microsoft.com/xrm/2011/Contracts");
    const attributes = kv(target.Attributes);
    expect(Object.keys(attributes).sort()).toEqual(["contactid", "hlf_certificationstatus", "lastname", "modifiedby", "modifiedon"]);
    expect(attributes.hlf_certificationstatus).toEqual({ __type: "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", Value: 100000001 });
    expect(attributes.modifiedon).toMatch(/^\/Date\(\d+\)\/$/);
    expect(attributes.modifiedby).toMatchObject({ LogicalName: "systemuser", Id: WRITER });
    const image = kv(kv(payload.PostEntityImages).AsynchronousStepPrimaryName.Attributes);
    expect(image).toEqual({ fullname: "Ada L", contactid: id });
    expect(webhooks.deliveries().at(-1)).toMatchObject({ message: "Update", recordId: id, attempts: 1, status: "succeeded", statuscode: 30, httpStatus: 200 });
  });

  it("sends the Dataverse headers and the WebhookKey as ?code=", async () => {
    register();
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    const [delivery] = receiver.received;
    expect(delivery.url.searchParams.get("code")).toBe("k3y");
    expect(delivery.headers).toMatchObject({
      "x-ms-dynamics-organization": "127.0.0.1:9",
      "x-ms-dynamics-entity-name": "contact",
      "x-ms-dynamics-request-name": "Create",
      "x-ms-correlation-request-id": ctx.events[0].correlationId,
      "content-type": "application/json",
    });
    expect(delivery.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(delivery.headers["x-ms-dynamics-msg-size-exceeded"]).toBeUndefined();
    expect(kv(JSON.parse(delivery.body).OutputParameters)).toEqual({ id: ctx.events[0].id });
  });

  it("sends HttpHeader pairs as request headers, also from the <settings> form", async () => {
    register({ authType: "HttpHeader", authValue: { "X-Hook-Secret": "s1" } });
    register({ authType: "HttpHeader", authValue: '<settings><setting name="X-Other" value="s2" /></settings>' });
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    const secrets = receiver.received.map((r) => r.headers["x-hook-secret"] ?? r.headers["x-other"]).sort();
    expect(secrets).toEqual(["s1", "s2"]);
    expect(receiver.received.every((r) => !r.url.searchParams.has("code"))).toBe(true);
  });

  it("sends HttpQueryString pairs as query parameters", async () => {
    register({ authType: "HttpQueryString", authValue: { token: "t1", tenant: "hlf" } });
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    const [delivery] = receiver.received;
    expect(Object.fromEntries(delivery.url.searchParams)).toEqual({ token: "t1", tenant: "hlf" });
  });

  it("sends a Delete with an EntityReference Target and no post image", async () => {
    register({ messages: ["Delete"] });
    const id = ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    ctx.ops.delete("contact", id, WRITER);
    await webhooks.idle();
    expect(receiver.received).toHaveLength(1);
    const payload = JSON.parse(receiver.received[0].body);
    expect(kv(payload.InputParameters).Target).toMatchObject({ __type: "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts", Id: id, LogicalName: "contact" });
    expect(payload.PostEntityImages).toEqual([]);
  });

  it("does not block the write: the delivery happens after the write returns", async () => {
    register();
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    expect(receiver.received).toHaveLength(0);
    expect(webhooks.deliveries()).toHaveLength(0);
    await webhooks.idle();
    expect(receiver.received).toHaveLength(1);
  });

  it("strips the large properties and flags a payload over 256 KB", async () => {
    register();
    ctx.ops.create("contact", { hlf_mentorid: "m-1", description: "x".repeat(300 * 1024) }, WRITER);
    await webhooks.idle();
    const [delivery] = receiver.received;
    expect(delivery.headers["x-ms-dynamics-msg-size-exceeded"]).toBe("true");
    const payload = JSON.parse(delivery.body);
    for (const property of ["ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"]) expect(payload).not.toHaveProperty(property);
    expect(payload.PrimaryEntityId).toBe(ctx.events[0].id);
    expect(delivery.body.length).toBeLessThan(256 * 1024);
    expect(webhooks.deliveries()[0].sizeExceeded).toBe(true);
  });

  it("retries exactly once on 503 and records the failure as statuscode 31", async () => {
    receiver.script = [503, 503, 503];
    register();
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    expect(receiver.received).toHaveLength(2);
    expect(webhooks.deliveries()).toEqual([expect.objectContaining({ attempts: 2, status: "failed", statuscode: 31, httpStatus: 503 })]);
  });

  it("succeeds on the retry after a 502", async () => {
    receiver.script = [502];
    register();
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    expect(receiver.received).toHaveLength(2);
    expect(webhooks.deliveries()[0]).toMatchObject({ attempts: 2, status: "succeeded", statuscode: 30 });
  });

  it("does not retry a 500", async () => {
    receiver.script = [500];
    register();
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    expect(receiver.received).toHaveLength(1);
    expect(webhooks.deliveries()[0]).toMatchObject({ attempts: 1, status: "failed", statuscode: 31, httpStatus: 500, error: "HTTP 500" });
  });

  it("fails a delivery that times out without retrying it", async () => {
    receiver.script = ["hang"];
    register();
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    expect(receiver.received).toHaveLength(1);
    expect(webhooks.deliveries()[0]).toMatchObject({ attempts: 1, status: "failed", error: "Timed out after 300 ms." });
  });

  it("keeps the key out of the error of an unreachable receiver", async () => {
    const url = receiver.url;
    await receiver.close();
    register({ url, authValue: "super-secret-key" });
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    await webhooks.idle();
    const [record] = webhooks.deliveries();
    expect(record.status).toBe("failed");
    expect(JSON.stringify(record)).not.toContain("super-secret-key");
  });

  it("fires an Update step only when a filtering attribute was written", async () => {
    register({ messages: ["Update"], filteringAttributes: ["hlf_certificationstatus"] });
    const id = ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    ctx.ops.update("contact", id, { firstname: "Ada" }, WRITER);
    ctx.ops.update("contact", id, { hlf_certificationstatus: 100000000 }, WRITER);
    await webhooks.idle();
    expect(receiver.received.map((r) => r.headers["x-ms-dynamics-request-name"])).toEqual(["Update"]);
  });

  it("ignores other tables, unregistered steps and everything after close", async () => {
    const id = register();
    ctx.ops.create("hlf_mentorgroup", { hlf_groupcode: "g-north" }, WRITER);
    webhooks.unregister(id);
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, WRITER);
    register();
    webhooks.close();
    ctx.ops.create("contact", { hlf_mentorid: "m-2" }, WRITER);
    await webhooks.idle();
    expect(receiver.received).toHaveLength(0);
  });

  it("refuses a receiver that is not on a loopback address", () => {
    expect(() => register({ url: "https://example.com/hook" })).toThrow(/loopback/);
  });
});
