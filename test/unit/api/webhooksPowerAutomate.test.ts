import { afterEach, describe, expect, it } from "vitest";
import type { Settings } from "../../../shared/config/settings.js";
import { setServices } from "../../../shared/runtime/services.js";
import { fakeServices, invocation, KEY, received, request, type FakeServices } from "./webhooksFixtures.js";

process.env.D365_SYNC_LOCAL_RUNNER = "1";
const { powerAutomateInbound } = await import("../../../functions/powerAutomateInbound.js");

const ID = "0f4d2c8e-1b7a-4e55-9c1d-2a3b4c5d6e7f";
/** A row as the "When a row is added, modified or deleted" trigger outputs it (trimmed). */
const ROW = {
  "@odata.etag": "W/\"1234567\"",
  contactid: ID,
  firstname: "Kari",
  lastname: "Nordmann",
  hlf_mentorid: "m-0001",
  hlf_certificationstatus: 100000001,
  _hlf_groupid_value: "7a2b1f7e-0000-4000-8000-000000000001",
  _modifiedby_value: "5a0e0f2c-6a39-4c3e-8d4b-000000000001",
  modifiedon: "2025-03-01T11:59:00Z",
  SdkMessage: "Update",
};

let f: FakeServices;
function use(webhooks: Settings["webhooks"] = { dataverseKey: KEY }): FakeServices {
  f = fakeServices(webhooks);
  setServices(f.services);
  return f;
}
afterEach(() => setServices(undefined));

async function post(init: { mapping?: string; body?: unknown; query?: string; headers?: Record<string, string> }) {
  const mapping = init.mapping ?? "mentors";
  const body = typeof init.body === "string" ? init.body : JSON.stringify(init.body ?? ROW);
  const res = await powerAutomateInbound(request({ path: `/api/inbound/dataverse/${mapping}${init.query ?? ""}`, body, headers: init.headers, params: { mapping } }), invocation("powerAutomateInbound"));
  return { status: res.status, body: res.jsonBody as Record<string, any> };
}
const nothingEnqueued = async () => expect(await f.queue.approximateCount()).toBe(0);

describe("POST /api/inbound/dataverse/{mapping}", () => {
  it("enqueues a Dataverse-side record event for the row's primary id (x-functions-key)", async () => {
    use();
    const res = await post({ headers: { "x-functions-key": KEY, "x-ms-workflow-run-id": "run-7" } });
    expect(res).toEqual({ status: 202, body: { status: "accepted" } });
    expect(await received(f.queue)).toEqual([{ mapping: "mentors", side: "dataverse", id: ID, message: "Update", correlationId: "run-7", receivedAt: "2025-03-01T12:00:00.000Z" }]);
  });

  it("accepts the row wrapped as {body: row} and the key as ?code=", async () => {
    use();
    const res = await post({ body: { body: ROW }, query: `?code=${KEY}` });
    expect(res.status).toBe(202);
    expect((await received(f.queue))[0].id).toBe(ID);
  });

  it("uses the mapping's primary id column", async () => {
    use();
    const res = await post({ mapping: "groups", body: { hlf_mentorgroupid: ID.toUpperCase(), hlf_name: "North" }, query: `?code=${KEY}` });
    expect(res.status).toBe(202);
    expect((await received(f.queue))[0]).toMatchObject({ mapping: "groups", id: ID });
  });

  const refusals: [string, () => Parameters<typeof post>[0], Settings["webhooks"] | undefined, number, RegExp][] = [
    ["no key configured", () => ({ query: `?code=${KEY}` }), {}, 401, /no webhook authentication is configured/],
    ["a missing key", () => ({}), undefined, 401, /missing or wrong key/],
    ["a wrong key", () => ({ headers: { "x-functions-key": `${KEY}x` } }), undefined, 401, /missing or wrong key/],
    ["an unknown mapping", () => ({ mapping: "courses", query: `?code=${KEY}` }), undefined, 404, /known mappings: groups, mentors/],
    ["non-JSON", () => ({ body: "{row", query: `?code=${KEY}` }), undefined, 400, /not valid JSON/],
    ["a body that is not an object", () => ({ body: [ROW], query: `?code=${KEY}` }), undefined, 400, /JSON object/],
    ["a row without the primary id", () => ({ body: { ...ROW, contactid: undefined }, query: `?code=${KEY}` }), undefined, 400, /no contactid GUID/],
    ["a primary id that is not a GUID", () => ({ body: { ...ROW, contactid: "m-0001" }, query: `?code=${KEY}` }), undefined, 400, /no contactid GUID/],
    ["a body over the limit", () => ({ body: { ...ROW, pad: "x".repeat(600_000) }, query: `?code=${KEY}` }), undefined, 413, /webhook limit/],
  ];
  for (const [what, make, webhooks, status, message] of refusals) {
    it(`answers ${status} for ${what} and enqueues nothing`, async () => {
      use(webhooks);
      const res = await post(make());
      expect(res.status).toBe(status);
      expect(res.body.error.message).toMatch(message);
      await nothingEnqueued();
    });
  }
});
