import { afterEach, describe, expect, it } from "vitest";
import type { Settings } from "../../../shared/config/settings.js";
import { setServices } from "../../../shared/runtime/services.js";
import {
  adaptDocumentedContext, documentedContextText, DOC_IDS, fakeServices, HEADER, HMAC_SECRET, hmacBase64, hmacHex, invocation, KEY,
  OUR_USER, received, request, truncated, type FakeServices,
} from "./webhooksFixtures.js";

// Register without the Functions host (the handlers are called directly).
process.env.D365_SYNC_LOCAL_RUNNER = "1";
const { dataverseWebhook } = await import("../../../functions/dataverseWebhook.js");

const ALL: Settings["webhooks"] = { dataverseKey: KEY, dataverseHeader: HEADER, dataverseHmacSecret: HMAC_SECRET };
const BODY = adaptDocumentedContext();

let f: FakeServices;
function use(webhooks: Settings["webhooks"], options?: Parameters<typeof fakeServices>[1]): FakeServices {
  f = fakeServices(webhooks, options);
  setServices(f.services);
  return f;
}
afterEach(() => setServices(undefined));

async function post(init: { query?: string; body?: string; headers?: Record<string, string> } = {}) {
  const res = await dataverseWebhook(request({ path: `/api/webhooks/dataverse${init.query ?? ""}`, body: init.body ?? BODY, headers: init.headers }), invocation("dataverseWebhook"));
  return { status: res.status, body: res.jsonBody as Record<string, any> };
}

const nothingEnqueued = async () => expect(await f.queue.approximateCount()).toBe(0);

describe("POST /api/webhooks/dataverse authentication", () => {
  const styles: { name: string; settings: Settings["webhooks"]; good: Parameters<typeof post>[0]; wrong: Parameters<typeof post>[0] }[] = [
    { name: "WebhookKey ?code=", settings: { dataverseKey: KEY }, good: { query: `?code=${KEY}` }, wrong: { query: `?code=${KEY}x` } },
    { name: "HttpHeader", settings: { dataverseHeader: HEADER }, good: { headers: { [HEADER.name]: HEADER.value } }, wrong: { headers: { [HEADER.name]: "header-value-0123456789abcdeX" } } },
    { name: "HttpQueryString", settings: { dataverseHeader: HEADER }, good: { query: `?${HEADER.name}=${HEADER.value}` }, wrong: { query: `?${HEADER.name}=nope` } },
    { name: "HMAC (hex)", settings: { dataverseHmacSecret: HMAC_SECRET }, good: { headers: { "x-ms-signature": hmacHex(HMAC_SECRET, BODY) } }, wrong: { headers: { "x-ms-signature": hmacHex("another-secret-0123456789", BODY) } } },
    { name: "HMAC (sha256= base64)", settings: { dataverseHmacSecret: HMAC_SECRET }, good: { headers: { "x-ms-signature": `sha256=${hmacBase64(HMAC_SECRET, BODY)}` } }, wrong: { headers: { "x-ms-signature": `sha256=${hmacBase64(HMAC_SECRET, `${BODY} `)}` } } },
  ];

  for (const style of styles) {
    it(`accepts a delivery authenticated by ${style.name} alone`, async () => {
      use(style.settings);
      const res = await post(style.good);
      expect(res).toEqual({ status: 202, body: { status: "accepted" } });
      expect(await received(f.queue)).toHaveLength(1);
    });

    it(`returns 401 for a wrong ${style.name} value and enqueues nothing`, async () => {
      use(style.settings);
      const res = await post(style.wrong);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
      await nothingEnqueued();
    });

    it(`returns 401 when the ${style.name} credential is missing and enqueues nothing`, async () => {
      use(style.settings);
      const res = await post({});
      expect(res.status).toBe(401);
      await nothingEnqueued();
    });
  }

  it("refuses every request with 401 when no authentication is configured, saying so", async () => {
    use({});
    const res = await post({ query: `?code=${KEY}` });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/no webhook authentication is configured/);
    await nothingEnqueued();
  });

  it("accepts any one enabled style when several are configured", async () => {
    use(ALL);
    expect((await post({ headers: { [HEADER.name]: HEADER.value } })).status).toBe(202);
    expect((await post({ query: `?code=${KEY}` })).status).toBe(202);
    expect(await f.queue.approximateCount()).toBe(2);
  });

  it("does not accept a signature computed over a different body", async () => {
    use({ dataverseHmacSecret: HMAC_SECRET });
    const res = await post({ body: BODY.replace("James", "Jim"), headers: { "x-ms-signature": hmacHex(HMAC_SECRET, BODY) } });
    expect(res.status).toBe(401);
    await nothingEnqueued();
  });

  it("never writes a secret into the logs or the answer", async () => {
    use(ALL);
    await post({ query: `?code=${KEY}`, headers: { [HEADER.name]: "wrong-value-0123456789abcdef" } });
    await post({ query: `?code=wrong&${HEADER.name}=${HEADER.value}x` });
    const text = JSON.stringify(f.logs);
    for (const secret of [KEY, HEADER.value, HMAC_SECRET]) expect(text).not.toContain(secret);
  });
});

describe("POST /api/webhooks/dataverse payloads", () => {
  const auth = { query: `?code=${KEY}` };

  it("enqueues the documented example as a record event of the contact mapping", async () => {
    use(ALL);
    const res = await post({ ...auth, headers: { "x-ms-correlation-request-id": "corr-1" } });
    expect(res.status).toBe(202);
    expect(await received(f.queue)).toEqual([{
      mapping: "mentors", side: "dataverse", id: DOC_IDS.record, message: "Update", correlationId: "corr-1", receivedAt: "2025-03-01T12:00:00.000Z",
    }]);
  });

  it("falls back to the body's CorrelationId and accepts a truncated delivery", async () => {
    use(ALL);
    const res = await post({ ...auth, body: truncated(documentedContextText()), headers: { "x-ms-dynamics-msg-size-exceeded": "true" } });
    expect(res.status).toBe(202);
    const [event] = await received(f.queue);
    expect(event).toMatchObject({ id: DOC_IDS.record, correlationId: "b374239d-4233-41a9-8b17-a86cb4f737b5" });
  });

  it("maps Upsert to an Update notice", async () => {
    use(ALL);
    await post({ ...auth, body: BODY.replace('"MessageName": "Update"', '"MessageName": "Upsert"') });
    expect((await received(f.queue))[0].message).toBe("Update");
  });

  it("answers 202 ignored and enqueues nothing for an echo of the integration's own write", async () => {
    use(ALL);
    const res = await post({ ...auth, body: adaptDocumentedContext({ user: OUR_USER }) });
    expect(res).toEqual({ status: 202, body: { status: "ignored", reason: "echo of the integration's own write" } });
    await nothingEnqueued();
  });

  it("reads WhoAmI once and keeps it", async () => {
    use(ALL);
    await post(auth);
    await post(auth);
    expect(f.whoAmICalls()).toBe(1);
  });

  const bad: [string, () => string, number, RegExp][] = [
    ["non-JSON", () => "not json {", 400, /not valid JSON/],
    ["a JSON array", () => "[]", 400, /JSON object/],
    ["a context without PrimaryEntityId and OrganizationId", () => JSON.stringify({ MessageName: "Update", PrimaryEntityName: "contact" }), 400, /PrimaryEntityId is missing; OrganizationId is missing/],
    ["a PrimaryEntityId that is not a GUID", () => BODY.replace(`"PrimaryEntityId": "${DOC_IDS.record}"`, '"PrimaryEntityId": "42"'), 400, /PrimaryEntityId is not a GUID/],
    ["a message other than Create/Update/Delete", () => BODY.replace('"MessageName": "Update"', '"MessageName": "Assign"'), 400, /"Assign" is not supported/],
    ["a table no mapping syncs", () => BODY.replace('"PrimaryEntityName": "contact"', '"PrimaryEntityName": "account"'), 422, /mapped tables: hlf_mentorgroup, contact/],
    ["another organization", () => adaptDocumentedContext({ organization: "99999999-e89e-e711-8122-000d3aa2331c" }), 403, /not the organization/],
  ];
  for (const [what, body, status, message] of bad) {
    it(`answers ${status} for ${what} and enqueues nothing`, async () => {
      use(ALL);
      const res = await post({ ...auth, body: body() });
      expect(res.status).toBe(status);
      expect(res.body.error.message).toMatch(message);
      await nothingEnqueued();
    });
  }

  it("answers 503 (which Dataverse retries) when WhoAmI fails, enqueuing nothing", async () => {
    use(ALL, { whoAmI: async () => { throw new Error("down"); } });
    const res = await post(auth);
    expect(res.status).toBe(503);
    await nothingEnqueued();
  });
});

describe("POST /api/webhooks/dataverse body size", () => {
  const auth = { query: `?code=${KEY}` };
  const padded = (bytes: number) => {
    const pad = bytes - Buffer.byteLength(BODY) - '"Pad":"",'.length;
    return BODY.replace("{", `{"Pad":"${"x".repeat(pad)}",`);
  };

  it("always accepts a 256 KB body", async () => {
    use(ALL);
    const body = padded(256 * 1024);
    expect(Buffer.byteLength(body)).toBe(256 * 1024);
    expect((await post({ ...auth, body })).status).toBe(202);
  });

  it("returns 413 for a body above the configured limit and enqueues nothing", async () => {
    use(ALL, { maxBodyBytes: 300_000 });
    const res = await post({ ...auth, body: padded(300_001) });
    expect(res.status).toBe(413);
    await nothingEnqueued();
  });

  it("accepts a body between 256 KB and the default 512 KB limit", async () => {
    use(ALL);
    expect((await post({ ...auth, body: padded(400_000) })).status).toBe(202);
  });

  it("returns 413 on a declared Content-Length above the limit", async () => {
    use(ALL);
    const res = await post({ ...auth, headers: { "content-length": String(600_000) } });
    expect(res.status).toBe(413);
    await nothingEnqueued();
  });
});
