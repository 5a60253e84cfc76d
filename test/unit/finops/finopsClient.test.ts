import { describe, expect, it } from "vitest";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import { FinopsClient, fixDownloadLocation, stringValue } from "../../../shared/finops/finopsClient.js";
import { FakeClock, scriptedFetch, type Step } from "../http/fakes.js";

const BASE = "https://contoso.operations.dynamics.com";
const ACTIVITY = "6D31E09F-0249-459F-94F0-AAD9C2C47B64";
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

function client(steps: Step[]) {
  const fetch = scriptedFetch(steps);
  const clock = new FakeClock();
  const c = new FinopsClient({ baseUrl: BASE, tokens: { getToken: async () => "tok-123" }, clock, fetch });
  return { c, fetch, clock };
}

describe("FinopsClient — the connector API as the sources describe it", () => {
  it("enqueues to the braced activity id with entity and company, the external identifier and a bearer token, and reads the quoted message id", async () => {
    // Prepare
    const { c, fetch } = client([new Response('"5f1c7a40-0f2b-4f7e-9d1e-3a2b1c0d9e8f"', { status: 200 })]);
    // Act
    const id = await c.enqueue(ACTIVITY, Buffer.from("A,B\n1,2\n"), { entity: "Customer groups", company: "USMF", externalId: "job-1" });
    // Assess
    expect(id).toBe("5f1c7a40-0f2b-4f7e-9d1e-3a2b1c0d9e8f");
    const [call] = fetch.calls;
    expect(call.url).toBe(`${BASE}/api/connector/enqueue/%7B${ACTIVITY}%7D?entity=Customer%20groups&company=USMF`);
    expect(call.headers.authorization).toBe("Bearer tok-123");
    expect(call.headers["x-ms-dyn-externalidentifier"]).toBe("job-1");
  });

  it("reads the message id from {\"value\":…} too (the form one third-party source reports)", async () => {
    const { c } = client([json(200, { value: "abc" })]);
    expect(await c.enqueue(ACTIVITY, Buffer.from("x"), {})).toBe("abc");
  });

  it("does not send an enqueue again after a 500 or a lost answer (no idempotency key), but does after a 429", async () => {
    // Prepare
    const { c, fetch, clock } = client([json(429, {}, { "retry-after": "3" }), json(500, { error: { message: "boom" } })]);
    // Act
    const error = await c.enqueue(ACTIVITY, Buffer.from("x"), {}).catch((e: unknown) => e as SyncError);
    // Assess
    expect(fetch.calls).toHaveLength(2);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(3_000);
    expect(error).toMatchObject({ code: ErrorCodes.ServerBusy, status: 500 });
  });

  it("answers null for a 204 dequeue and reads the six fields case-insensitively", async () => {
    // Prepare
    const body = { CorrelationId: "c-1", PopReceipt: "p-1", DownloadLocation: `${BASE}/api/connector/download/x?correlation-id=c-1&blob=b-1`, IsDownLoadFileExist: true, FileDownLoadErrorMessage: null, LastDequeueDateTime: "2026-03-02T08:30:00Z" };
    const { c } = client([new Response(null, { status: 204 }), json(200, body)]);
    // Act
    const none = await c.dequeue(ACTIVITY);
    const message = await c.dequeue(ACTIVITY);
    // Assess
    expect(none).toBeNull();
    expect(message).toMatchObject({ correlationId: "c-1", popReceipt: "p-1", fileExists: true, lastDequeueDateTime: "2026-03-02T08:30:00Z" });
    expect(JSON.parse(message!.raw)).toEqual(body);
  });

  it("waits Retry-After (an integer of seconds) through the clock on 429 and gives up after its bounded attempts", async () => {
    // Prepare
    const storm = Array.from({ length: 10 }, () => json(429, {}, { "retry-after": "2" }));
    const { c, fetch, clock } = client(storm);
    // Act
    const error = await c.getMessageStatus("m-1").catch((e: unknown) => e as SyncError);
    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.Throttled, kind: "throttled" });
    expect(fetch.calls).toHaveLength(5);
    expect(clock.sleeps).toHaveLength(4);
    for (const ms of clock.sleeps) expect(ms).toBeGreaterThanOrEqual(2_000);
    expect(c.calls.GetMessageStatus).toBe(5);
  });

  it("turns 401 and 403 into auth errors that name the Entra applications form and the job's policy", async () => {
    const { c } = client([json(403, { error: { message: "not authorized" } })]);
    const error = (await c.ack(ACTIVITY, "{}").catch((e: unknown) => e)) as SyncError;
    expect(error).toMatchObject({ kind: "auth", code: ErrorCodes.Auth });
    expect(error.message).toMatch(/authorization policy/);
  });
});

describe("FinopsClient — OData actions and the package API", () => {
  it("reads GetExecutionErrors' value as a double-encoded JSON array", async () => {
    const errors = [{ RecordId: "3", Field: "", ErrorMessage: "Customer groups (CUSTOMERGROUPID=G3): blocked" }];
    const { c, fetch } = client([json(200, { "@odata.context": `${BASE}/data/$metadata#Edm.String`, value: JSON.stringify(errors) })]);
    expect(await c.getExecutionErrors("exec-1")).toEqual([{ recordId: "3", field: "", message: "Customer groups (CUSTOMERGROUPID=G3): blocked" }]);
    expect(fetch.calls[0].url).toBe(`${BASE}/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.GetExecutionErrors`);
    expect(JSON.parse(fetch.calls[0].body!)).toEqual({ executionId: "exec-1" });
  });

  it("asks GetExecutionIdByMessageId with the underscored parameter", async () => {
    const { c, fetch } = client([json(200, { value: "00000000-0000-0000-0000-000000000000" })]);
    expect(await c.getExecutionIdByMessageId("m-1")).toBe("00000000-0000-0000-0000-000000000000");
    expect(JSON.parse(fetch.calls[0].body!)).toEqual({ _messageId: "m-1" });
  });

  it("reads GetAzureWriteUrl's BlobUrl out of its JSON-in-a-string value, and PUTs the blob with its SAS and no token", async () => {
    // Prepare
    const blobUrl = "https://acct.blob.core.windows.net/dmf/p.zip?sv=2024&sig=abc";
    const { c, fetch } = client([json(200, { value: JSON.stringify({ BlobId: "{B-1}", BlobUrl: blobUrl }) }), new Response(null, { status: 201 })]);
    // Act
    const write = await c.getAzureWriteUrl("p.zip");
    await c.putBlob(write.blobUrl, Buffer.from("zip"));
    // Assess
    expect(write).toEqual({ blobId: "{B-1}", blobUrl });
    const put = fetch.calls[1];
    expect(put).toMatchObject({ method: "PUT", url: blobUrl });
    expect(put.headers.authorization).toBeUndefined();
    expect(put.headers["x-ms-blob-type"]).toBe("BlockBlob");
  });
});

describe("wire details", () => {
  it("fixes an http://…:80 DownloadLocation to the base URL's scheme and port", () => {
    expect(fixDownloadLocation("http://contoso.operations.dynamics.com:80/api/connector/download/x?blob=1", BASE))
      .toBe(`${BASE}/api/connector/download/x?blob=1`);
    expect(fixDownloadLocation("http://127.0.0.1:80/api/connector/download/x", "http://127.0.0.1:7073")).toBe("http://127.0.0.1:7073/api/connector/download/x");
  });

  it("refuses a DownloadLocation on another host: our token is not sent there", () => {
    expect(() => fixDownloadLocation("https://elsewhere.example.com/api/connector/download/x", BASE)).toThrow(/another host/);
  });

  it("reads string answers in their three forms", () => {
    expect(stringValue('"abc"')).toBe("abc");
    expect(stringValue('{"@odata.context":"x","value":"Processed"}')).toBe("Processed");
    expect(stringValue("bare")).toBe("bare");
    expect(stringValue("")).toBeUndefined();
  });
});
