import { describe, expect, it } from "vitest";
import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import { jsonResponse, networkReset, scriptedFetch } from "../http/fakes.js";
import { clientWith, collect, guid, root } from "./support.js";

const noContent = (headers: Record<string, string> = {}) => new Response(null, { status: 204, headers });

describe("createDataverseClient", () => {
  it("accepts plain http only for loopback hosts", () => {
    const tokens = { getToken: async () => "t" };

    expect(() => createDataverseClient({ instanceUrl: "http://org.crm.dynamics.com", tokens })).toThrow(/https/);
    expect(createDataverseClient({ instanceUrl: "http://127.0.0.1:8080", tokens }).serviceRoot).toBe("http://127.0.0.1:8080/api/data/v9.2/");
  });

  it("sends the standard OData headers and the bearer token on a GET", async () => {
    const { client, fetch } = clientWith([jsonResponse(200, { UserId: guid(1), BusinessUnitId: guid(2), OrganizationId: guid(3) })]);

    const me = await client.whoAmI();

    expect(me.UserId).toBe(guid(1));
    expect(fetch.calls[0].url).toBe(`${root}WhoAmI`);
    expect(fetch.calls[0].headers).toMatchObject({
      accept: "application/json",
      "odata-maxversion": "4.0",
      "odata-version": "4.0",
      "if-none-match": "null",
      authorization: "Bearer tok",
    });
    expect(fetch.calls[0].headers["content-type"]).toBeUndefined();
  });

  it("creates a row and returns the id from OData-EntityId", async () => {
    const { client, fetch } = clientWith([noContent({ "OData-EntityId": `${root}contacts(${guid(7)})` })]);

    const id = await client.create("contacts", { firstname: "Ada" });

    expect(id).toBe(guid(7));
    expect(fetch.calls[0]).toMatchObject({ method: "POST", url: `${root}contacts`, body: '{"firstname":"Ada"}' });
    expect(fetch.calls[0].headers["content-type"]).toMatch(/^application\/json/);
  });

  it("updates with If-Match * by default and with the given etag when asked", async () => {
    const { client, fetch } = clientWith([noContent(), noContent()]);

    await client.update("contacts", guid(7), { firstname: "B" });
    await client.update("contacts", guid(7), { firstname: "C" }, { ifMatch: 'W/"42"' });

    expect(fetch.calls.map((c) => [c.method, c.url, c.headers["if-match"]])).toEqual([
      ["PATCH", `${root}contacts(${guid(7)})`, "*"],
      ["PATCH", `${root}contacts(${guid(7)})`, 'W/"42"'],
    ]);
  });

  it("refuses an If-Match that is not a row version before sending, naming the record", async () => {
    const { client, fetch } = clientWith([]);

    const update = client.update("contacts", guid(7), {}, { ifMatch: "42" });
    const remove = client.delete("contacts", guid(7), { ifMatch: 'W/"1"\r\nX: y' });

    await expect(update).rejects.toMatchObject({ kind: "validation", message: expect.stringMatching(/^contacts\(0{8}-.*\): ifMatch "42" is not a row version/) });
    await expect(remove).rejects.toMatchObject({ kind: "validation" });
    expect(fetch.calls).toHaveLength(0);
  });

  it("turns a stale etag into a CONCURRENCY conflict", async () => {
    const { client } = clientWith([jsonResponse(412, { error: { code: "0x80060882", message: "The version of the existing record doesn't match" } })]);

    await expect(client.update("contacts", guid(7), {}, { ifMatch: 'W/"1"' })).rejects.toMatchObject({ kind: "conflict", code: "CONCURRENCY" });
  });

  it("upserts by an escaped alternate key without If-Match", async () => {
    const { client, fetch } = clientWith([noContent({ "OData-EntityId": `${root}contacts(hlf_mentorid='m-1')` })]);

    const id = await client.upsertByKey("contacts", { hlf_mentorid: "O'Neil" }, { firstname: "X" });

    expect(id).toBeUndefined();
    expect(fetch.calls[0].url).toBe(`${root}contacts(hlf_mentorid='O''Neil')`);
    expect(fetch.calls[0].headers["if-match"]).toBeUndefined();
  });

  it("returns null when a retrieve gets 404 and selects the asked columns", async () => {
    const { client, fetch } = clientWith([jsonResponse(404, { error: { code: "0x80040217", message: "contact With Id = x Does Not Exist" } }), jsonResponse(200, { hlf_name: "North" })]);

    const missing = await client.retrieve("contacts", guid(9), ["firstname", "lastname"]);
    const found = await client.retrieveByKey("hlf_mentorgroups", { hlf_groupcode: "g-north" }, ["hlf_name"]);

    expect(missing).toBeNull();
    expect(found).toEqual({ hlf_name: "North" });
    expect(fetch.calls[0].url).toBe(`${root}contacts(${guid(9)})?$select=firstname,lastname`);
    expect(fetch.calls[1].url).toBe(`${root}hlf_mentorgroups(hlf_groupcode='g-north')?$select=hlf_name`);
  });

  it("deletes, sending If-Match only when given", async () => {
    const { client, fetch } = clientWith([noContent(), noContent()]);

    await client.delete("contacts", guid(3));
    await client.delete("contacts", guid(3), { ifMatch: 'W/"5"' });

    expect(fetch.calls.map((c) => [c.method, c.headers["if-match"]])).toEqual([["DELETE", undefined], ["DELETE", 'W/"5"']]);
  });

  it("retries a 429 no earlier than Retry-After and counts it in stats", async () => {
    const throttled = jsonResponse(429, { error: { code: "0x80072322", message: "Number of requests exceeded the limit of 6000" } }, { "Retry-After": "4" });
    const { client, fetch, clock } = clientWith([throttled, networkReset(), noContent({ "OData-EntityId": `${root}contacts(${guid(1)})` })]);

    await client.create("contacts", {});

    expect(fetch.calls).toHaveLength(3);
    expect(clock.sleeps).toEqual([4_000, 0]);
    expect(client.stats()).toMatchObject({ requests: 3, throttled: 1, waitedMs: 4_000 });
  });

  it("pages a query with maxpagesize and follows nextLink unchanged", async () => {
    const next = `${root}contacts?$select=firstname&$skiptoken=%3Ccookie%20pagenumber=%222%22/%3E`;
    const { client, fetch } = clientWith([jsonResponse(200, { value: [{ a: 1 }, { a: 2 }], "@odata.nextLink": next }), jsonResponse(200, { value: [{ a: 3 }] })]);

    const pages = await collect(client.query("contacts", { select: ["firstname"], filter: "statecode eq 0", pageSize: 2 }));

    expect(pages).toEqual([[{ a: 1 }, { a: 2 }], [{ a: 3 }]]);
    expect(fetch.calls[0].url).toBe(`${root}contacts?$select=firstname&$filter=statecode%20eq%200`);
    expect(fetch.calls[0].headers.prefer).toBe("odata.maxpagesize=2");
    expect(fetch.calls[1].url).toBe(next);
    expect(fetch.calls[1].headers.prefer).toBe("odata.maxpagesize=2");
  });

  it("refuses to follow a nextLink to another host", async () => {
    const { client } = clientWith([jsonResponse(200, { value: [{ a: 1 }], "@odata.nextLink": "https://evil.example/steal" })]);

    await expect(collect(client.query("contacts", {}))).rejects.toThrow(/another host/);
  });
});

describe("createDataverseClient authentication", () => {
  it("fetches a fresh token and retries once after a 401", async () => {
    // Prepare
    const fetch = scriptedFetch([jsonResponse(401, { error: { code: "0x80041d52", message: "The OAuth token has expired" } }), jsonResponse(200, { UserId: guid(1) })]);
    let n = 0;
    const tokens = { getToken: async () => `t${n}`, invalidate: () => void n++ };
    const client = createDataverseClient({ instanceUrl: "https://org.crm4.dynamics.com", tokens, fetch });

    // Act
    const me = await client.whoAmI();

    // Assess
    expect(me.UserId).toBe(guid(1));
    expect(fetch.calls.map((c) => c.headers.authorization)).toEqual(["Bearer t0", "Bearer t1"]);
  });

  it("reports a repeated 401 as AUTH", async () => {
    const unauthorized = () => jsonResponse(401, { error: { code: "", message: "unauthorized" } });
    const fetch = scriptedFetch([unauthorized(), unauthorized()]);
    const client = createDataverseClient({ instanceUrl: "https://org.crm4.dynamics.com", tokens: { getToken: async () => "t", invalidate: () => {} }, fetch });

    await expect(client.whoAmI()).rejects.toMatchObject({ kind: "auth", code: "AUTH", status: 401 });
    expect(fetch.calls).toHaveLength(2);
  });
});
