import { afterEach, describe, expect, it } from "vitest";
import { handleAdmin, type AdminParts } from "../../emulators/dataverse/adminRoutes.js";
import { FaultScript } from "../../emulators/dataverse/faults.js";
import { RequestLog } from "../../emulators/dataverse/requestLog.js";
import { WebhookDispatcher } from "../../emulators/dataverse/webhooks.js";
import { fakeContext } from "./fakeContext.js";
import { startReceiver } from "./receiver.js";

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

function parts() {
  const ctx = fakeContext();
  const webhooks = new WebhookDispatcher(ctx);
  cleanup.push(() => webhooks.close());
  let expired = 0;
  const p: AdminParts & { expired(): number } = {
    faults: new FaultScript(),
    log: new RequestLog(),
    webhooks,
    expireDeltaTokens: () => void (expired += 1),
    expired: () => expired,
  };
  return { p, ctx };
}

function call(p: AdminParts, method: string, path: string, body?: unknown) {
  return handleAdmin({ method, url: new URL(`http://127.0.0.1:9/_emulator/${path}`), headers: {}, body: body === undefined ? "" : JSON.stringify(body), userId: "admin" }, p);
}

describe("handleAdmin", () => {
  it("adds fault rules from JSON, including a RegExp path and an endless count", async () => {
    // Prepare
    const { p } = parts();
    // Act
    const response = await call(p, "POST", "faults", [{ method: "GET", pathRegex: "^contacts\\?", status: 503, count: "Infinity" }, { path: "$batch", status: 429, retryAfterSeconds: 2 }]);
    // Assess
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body!).ids).toHaveLength(2);
    expect(p.faults.take("GET", "contacts?$select=fullname")?.status).toBe(503);
    expect(p.faults.take("GET", "contacts?$select=fullname")?.status).toBe(503);
    expect(p.faults.take("POST", "$batch")).toMatchObject({ status: 429, retryAfterSeconds: 2 });
    const listed = JSON.parse((await call(p, "GET", "faults")).body!).value;
    expect(listed).toEqual([expect.objectContaining({ pathRegex: "^contacts\\?", count: "Infinity", remaining: "Infinity" })]);
  });

  it("clears the fault script", async () => {
    const { p } = parts();
    p.faults.add({ status: 500 });
    expect((await call(p, "DELETE", "faults")).status).toBe(204);
    expect(p.faults.take("GET", "contacts")).toBeUndefined();
  });

  it("answers 400 for a fault rule with a wrongly typed field", async () => {
    const { p } = parts();
    const response = await call(p, "POST", "faults", { status: "503" });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body!).error.message).toContain("status");
  });

  it("lists and clears the request log", async () => {
    const { p } = parts();
    for (const at of [1, 2, 3]) p.log.record({ at, method: "GET", path: "/x", headers: {}, body: "", status: 200, inBatch: false, durationMs: 0 });
    const top = JSON.parse((await call(p, "GET", "requests?top=2")).body!).value;
    expect(top.map((e: { at: number }) => e.at)).toEqual([2, 3]);
    expect((await call(p, "DELETE", "requests")).status).toBe(204);
    expect(p.log.entries()).toEqual([]);
  });

  it("registers a webhook and reports its deliveries after waiting for them", async () => {
    // Prepare
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const { p, ctx } = parts();
    const registered = await call(p, "POST", "webhooks", { table: "contact", messages: ["Create"], url: receiver.url, authType: "WebhookKey", authValue: "k" });
    // Act
    ctx.ops.create("contact", { hlf_mentorid: "m-1" }, "u");
    const deliveries = JSON.parse((await call(p, "GET", "webhooks/deliveries?wait=true")).body!).value;
    // Assess
    expect(registered.status).toBe(201);
    expect(deliveries).toEqual([expect.objectContaining({ registrationId: JSON.parse(registered.body!).id, status: "succeeded", statuscode: 30 })]);
  });

  it("answers 400 for a webhook that is not on loopback", async () => {
    const { p } = parts();
    const response = await call(p, "POST", "webhooks", { table: "contact", messages: ["Create"], url: "https://example.com/x", authType: "WebhookKey", authValue: "k" });
    expect(response.status).toBe(400);
  });

  it("expires change-tracking tokens on request", async () => {
    const { p } = parts();
    expect((await call(p, "POST", "expire-delta-tokens")).status).toBe(204);
    expect(p.expired()).toBe(1);
  });

  it("answers 404 for an unknown admin route", async () => {
    const { p } = parts();
    expect((await call(p, "GET", "nothing-here")).status).toBe(404);
  });
});
