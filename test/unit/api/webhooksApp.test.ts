import { afterEach, describe, expect, it } from "vitest";
import type { Settings } from "../../../shared/config/settings.js";
import { setServices } from "../../../shared/runtime/services.js";
import { APP_SECRET, appSignature, fakeServices, invocation, received, request, type FakeServices } from "./webhooksFixtures.js";

process.env.D365_SYNC_LOCAL_RUNNER = "1";
const { appWebhook } = await import("../../../functions/appWebhook.js");

let f: FakeServices;
function use(webhooks: Settings["webhooks"] = { appSecret: APP_SECRET }): FakeServices {
  f = fakeServices(webhooks);
  setServices(f.services);
  return f;
}
afterEach(() => setServices(undefined));

const nowSeconds = () => String(Math.floor(f.clock.now() / 1000));
const notice = (ids: string[] = ["m-0001", "m-0002"], entity = "mentor") => JSON.stringify({ entity, ids });

async function post(body: string, headers: Record<string, string>) {
  const res = await appWebhook(request({ path: "/api/webhooks/app", body, headers }), invocation("appWebhook"));
  return { status: res.status, body: res.jsonBody as Record<string, any> };
}
const nothingEnqueued = async () => expect(await f.queue.approximateCount()).toBe(0);

describe("POST /api/webhooks/app", () => {
  it("enqueues one app-side record event per id of a correctly signed notice", async () => {
    use();
    const body = notice();
    const res = await post(body, appSignature(body, nowSeconds()));
    expect(res).toEqual({ status: 202, body: { accepted: 2 } });
    expect(await received(f.queue)).toEqual([
      { mapping: "mentors", side: "app", id: "m-0001", receivedAt: "2025-03-01T12:00:00.000Z" },
      { mapping: "mentors", side: "app", id: "m-0002", receivedAt: "2025-03-01T12:00:00.000Z" },
    ]);
  });

  it("accepts an ISO 8601 timestamp as signed", async () => {
    use();
    const body = notice(["g-north"], "group");
    const res = await post(body, appSignature(body, "2025-03-01T11:58:00Z"));
    expect(res.status).toBe(202);
    expect((await received(f.queue))[0]).toMatchObject({ mapping: "groups", id: "g-north" });
  });

  it("enqueues a repeated id once", async () => {
    use();
    const body = notice(["m-0001", "m-0001"]);
    expect((await post(body, appSignature(body, nowSeconds()))).body).toEqual({ accepted: 1 });
    expect(await f.queue.approximateCount()).toBe(1);
  });

  it("accepts timestamps up to five minutes either side of the clock", async () => {
    use();
    const body = notice();
    const at = (deltaS: number) => String(Math.floor(f.clock.now() / 1000) + deltaS);
    expect((await post(body, appSignature(body, at(-300)))).status).toBe(202);
    expect((await post(body, appSignature(body, at(300)))).status).toBe(202);
  });

  const refusals: [string, () => { body: string; headers: Record<string, string> }, number, RegExp][] = [
    ["no secret configured", () => ({ body: notice(), headers: appSignature(notice(), nowSeconds()) }), 401, /no webhook authentication is configured/],
    ["missing signature headers", () => ({ body: notice(), headers: {} }), 401, /X-Sync-Timestamp and X-Sync-Signature/],
    ["a signature made with another secret", () => ({ body: notice(), headers: appSignature(notice(), nowSeconds(), "other-secret-0123456789") }), 401, /X-Sync-Signature is not/],
    ["a signature without the sha256= prefix", () => {
      const h = appSignature(notice(), nowSeconds());
      return { body: notice(), headers: { ...h, "x-sync-signature": h["x-sync-signature"].slice(7) } };
    }, 401, /X-Sync-Signature is not/],
    ["a body changed after signing", () => ({ body: notice(["m-0003"]), headers: appSignature(notice(), nowSeconds()) }), 401, /X-Sync-Signature is not/],
    ["a timestamp changed after signing", () => {
      const h = appSignature(notice(), nowSeconds());
      return { body: notice(), headers: { ...h, "x-sync-timestamp": String(Number(nowSeconds()) + 1) } };
    }, 401, /X-Sync-Signature is not/],
    ["a timestamp older than five minutes", () => ({ body: notice(), headers: appSignature(notice(), String(Number(nowSeconds()) - 301)) }), 401, /5-minute replay window/],
    ["a timestamp more than five minutes ahead", () => ({ body: notice(), headers: appSignature(notice(), String(Number(nowSeconds()) + 301)) }), 401, /5-minute replay window/],
    ["an unreadable timestamp", () => ({ body: notice(), headers: appSignature(notice(), "yesterday") }), 401, /unix seconds or an ISO 8601/],
    ["non-JSON", () => ({ body: "{entity", headers: appSignature("{entity", nowSeconds()) }), 400, /not valid JSON/],
    ["no ids", () => ({ body: notice([]), headers: appSignature(notice([]), nowSeconds()) }), 400, /ids/],
    ["over 1000 ids", () => {
      const body = notice(Array.from({ length: 1001 }, (_, i) => `m-${i}`));
      return { body, headers: appSignature(body, nowSeconds()) };
    }, 400, /ids/],
    ["an id that is not a string", () => {
      const body = JSON.stringify({ entity: "mentor", ids: [7] });
      return { body, headers: appSignature(body, nowSeconds()) };
    }, 400, /ids\.0/],
    ["an entity no mapping syncs", () => ({ body: notice(["x"], "course"), headers: appSignature(notice(["x"], "course"), nowSeconds()) }), 422, /mapped entities: group, mentor/],
    ["a body over the limit", () => {
      const body = JSON.stringify({ entity: "mentor", ids: ["m-1"], pad: "x".repeat(600_000) });
      return { body, headers: appSignature(body, nowSeconds()) };
    }, 413, /webhook limit/],
  ];
  for (const [what, make, status, message] of refusals) {
    it(`answers ${status} for ${what} and enqueues nothing`, async () => {
      use(what === "no secret configured" ? {} : undefined);
      const { body, headers } = make();
      const res = await post(body, headers);
      expect(res.status).toBe(status);
      expect(res.body.error.message).toMatch(message);
      await nothingEnqueued();
    });
  }

  it("never writes the secret into the logs", async () => {
    use();
    await post(notice(), appSignature(notice(), nowSeconds(), "other-secret-0123456789"));
    await post(notice(), appSignature(notice(), nowSeconds()));
    expect(JSON.stringify(f.logs)).not.toContain(APP_SECRET);
  });
});
