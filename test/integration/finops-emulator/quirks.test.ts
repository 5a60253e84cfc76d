import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { customerGroupsCsv, enqueuePath, EXPORT_ID, IMPORT_ID, startFinopsHarness, type FinopsHarness } from "./finopsHarness.js";

const rows = [{ SALESORDERNUMBER: "SO-1", TOTALAMOUNT: "1" }];

describe("F&O emulator: tokens and authorization policies", () => {
  let h: FinopsHarness;
  beforeEach(async () => {
    h = await startFinopsHarness();
  });
  afterEach(async () => h.close());

  it("answers 401 with a challenge for a missing token, a token for another audience and a forged one", async () => {
    const otherAudience = await h.tokens.mintToken({ aud: "https://contoso.operations.dynamics.com", appid: h.allowedAppId });
    const valid = await h.tokens.mintToken({ aud: h.emulator.url, appid: h.allowedAppId });
    const forged = `${valid.slice(0, valid.lastIndexOf(".") + 1)}${"A".repeat(40)}`;

    const answers = await Promise.all([null, otherAudience, forged].map((token) => h.fo(`/api/connector/dequeue/${EXPORT_ID}`, { token })));

    expect(answers.map((r) => r.status)).toEqual([401, 401, 401]);
    expect(answers[0].headers.get("www-authenticate")).toContain(`resource_id=${h.emulator.url}`);
    expect((await h.fo(`/api/connector/dequeue/${EXPORT_ID}`, { token: valid })).status).toBe(204);
  });

  it("answers 403 to an app that is not on the job's authorization policy, on every connector endpoint", async () => {
    h.emulator.seedExport(EXPORT_ID, rows);
    const body = await (await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();

    const answers = await Promise.all([
      h.fo(enqueuePath(), { body: customerGroupsCsv(1), as: "other" }),
      h.fo(`/api/connector/dequeue/${EXPORT_ID}`, { as: "other" }),
      h.fo(body.DownloadLocation, { as: "other" }),
      h.fo(`/api/connector/ack/${EXPORT_ID}`, { body, as: "other" }),
      h.fo("/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.GetAzureWriteUrl", { body: { uniqueFileName: "x" }, as: "other" }),
    ]);

    expect(answers.map((r) => r.status)).toEqual([403, 403, 403, 403, 403]);
    expect((await answers[0].json()).error.message).toContain(`'${h.otherAppId}' is not enabled on the authorization policy`);
    expect(h.emulator.messages().filter((m) => m.direction === "import")).toEqual([]);
    expect(h.emulator.messages()[0].acked).toBe(false);
  });

  it("lets a job's own policy override the emulator's list", async () => {
    h.emulator.defineJob({ activityId: "0F0E0D0C-0B0A-4909-8807-060504030201", direction: "export", entity: "X", format: "csv", allowedAppIds: [h.otherAppId] });

    const mine = await h.fo("/api/connector/dequeue/0f0e0d0c-0b0a-4909-8807-060504030201", { as: "other" });
    const notMine = await h.fo("/api/connector/dequeue/0f0e0d0c-0b0a-4909-8807-060504030201");

    expect([mine.status, notMine.status]).toEqual([204, 403]);
  });

  it("answers an unknown or disabled activity with the configured status, naming the id", async () => {
    h.emulator.defineJob({ activityId: "AAAAAAAA-0000-4000-8000-000000000001", direction: "export", entity: "X", format: "csv", enabled: false });

    const unknown = await h.fo("/api/connector/dequeue/{BBBBBBBB-0000-4000-8000-000000000001}");
    const disabled = await h.fo("/api/connector/dequeue/AAAAAAAA-0000-4000-8000-000000000001");

    expect([unknown.status, disabled.status]).toEqual([400, 400]);
    expect((await unknown.json()).error.message).toContain("{BBBBBBBB-0000-4000-8000-000000000001}");
  });
});

describe("F&O emulator: URL quirks", () => {
  it("accepts braced, URL-encoded and lower-case activity ids and the optional /en/ segment", async () => {
    const h = await startFinopsHarness();
    try {
      const forms = [`{${EXPORT_ID}}`, encodeURIComponent(`{${EXPORT_ID}}`), EXPORT_ID.toLowerCase(), `%7b${EXPORT_ID.toLowerCase()}%7d`];
      const plain = await Promise.all(forms.map((id) => h.fo(`/api/connector/dequeue/${id}`)));
      const withLang = await h.fo(`/en/api/connector/dequeue/${forms[1]}`);
      const enqueue = await h.fo(`/en${enqueuePath(IMPORT_ID.toLowerCase())}`, { body: customerGroupsCsv(1) });
      const odata = await h.fo("/en/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.GetMessageStatus", { body: { messageId: `{${(await enqueue.json()).toUpperCase()}}` } });

      expect([...plain, withLang].map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
      expect(enqueue.status).toBe(200);
      expect((await odata.json()).value).toBe("Enqueued");
      expect(h.emulator.requestLog().at(-1)).toMatchObject({ method: "POST", path: "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.GetMessageStatus", status: 200 });
    } finally {
      await h.close();
    }
  });

  it("hands out http://<host>:80 download locations when the quirk is on; the base URL's origin fixes them", async () => {
    const h = await startFinopsHarness({ httpDownloadLocation: true });
    try {
      h.emulator.seedExport(EXPORT_ID, rows);
      const { DownloadLocation } = await (await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();
      const location = new URL(DownloadLocation);
      const fixed = new URL(location.pathname + location.search, h.emulator.url);

      expect(DownloadLocation).toMatch(/^http:\/\/127\.0\.0\.1:80\/api\/connector\/download\//);
      expect((await h.fo(fixed.href)).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe("F&O emulator: throttling", () => {
  let h: FinopsHarness;
  beforeEach(async () => {
    h = await startFinopsHarness();
  });
  afterEach(async () => h.close());

  it("answers the next N requests with 429 and an integer-seconds Retry-After, then serves again", async () => {
    h.emulator.throttle({ requests: 2, retryAfterS: 7.4 });

    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.fo(`/api/connector/dequeue/${EXPORT_ID}`);
      statuses.push(res.status);
      retryAfter.push(res.headers.get("retry-after"));
    }

    expect(statuses).toEqual([429, 429, 204]);
    expect(retryAfter).toEqual(["8", "8", null]);
  });

  it("throttles an even fraction of matching requests only, until cleared", async () => {
    h.emulator.throttle({ fraction: 0.5, retryAfterS: 2, path: "/dequeue/" });

    const dequeues: number[] = [];
    for (let i = 0; i < 4; i++) dequeues.push((await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).status);
    const enqueue = await h.fo(enqueuePath(), { body: customerGroupsCsv(1) });
    h.emulator.clearThrottle();
    const after = [(await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).status, (await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).status];

    expect(dequeues).toEqual([204, 429, 204, 429]);
    expect(enqueue.status).toBe(200);
    expect(after).toEqual([204, 204]);
  });

  it("does not do a throttled enqueue", async () => {
    h.emulator.throttle({ requests: 1, retryAfterS: 1 });

    const res = await h.fo(enqueuePath(), { body: customerGroupsCsv(1) });

    expect(res.status).toBe(429);
    expect(h.emulator.messages()).toEqual([]);
  });
});
