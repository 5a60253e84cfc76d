import { describe, expect, it } from "vitest";
import { countBatchOperations, handleBatch } from "../../emulators/dataverse/batch.js";
import type { EmuRequest } from "../../emulators/dataverse/types.js";
import { batchBody, readBatchResponse, type WireOp, type WireResponse } from "./batchWire.js";
import { fakeContext } from "./fakeContext.js";

const USER = "75c2dd85-e89e-e711-8122-000d3aa2331c";

function batchRequest(items: Array<WireOp | WireOp[]>, headers: Record<string, string> = {}, eol = "\r\n"): EmuRequest {
  return {
    method: "POST",
    url: new URL("http://127.0.0.1:9/api/data/v9.2/$batch"),
    headers: { "content-type": 'multipart/mixed; boundary="batch_abc"', "odata-version": "4.0", ...headers },
    body: batchBody("batch_abc", items, eol),
    userId: USER,
  };
}

const createMentor = (id: string, extra: Record<string, unknown> = {}): WireOp => ({
  method: "POST",
  url: "/api/data/v9.2/contacts",
  body: { hlf_mentorid: id, firstname: "Ada", ...extra },
});

describe("handleBatch", () => {
  it("runs top-level parts in order and answers 200 multipart with a batchresponse boundary", async () => {
    // Prepare
    const ctx = fakeContext();
    // Act
    const response = await handleBatch(batchRequest([createMentor("m-1"), { method: "GET", url: "contacts" }]), ctx);
    // Assess
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^multipart\/mixed; boundary=batchresponse_[0-9a-f-]{36}$/);
    const [created, listed] = readBatchResponse(response.headers["content-type"], response.body!) as WireResponse[];
    expect(created.status).toBe(204);
    expect(created.headers["odata-entityid"]).toMatch(/contacts\([0-9a-f-]{36}\)$/);
    expect(JSON.parse(listed.body).value.map((r: { hlf_mentorid: string }) => r.hlf_mentorid)).toEqual(["m-1"]);
  });

  it("passes inner requests to the core marked inBatch, with the caller's user and merged headers", async () => {
    const ctx = fakeContext();
    await handleBatch(batchRequest([{ ...createMentor("m-1"), headers: { "MSCRM.SuppressDuplicateDetection": "false" } }], { "x-ms-client-app": "sync", prefer: "odata.continue-on-error" }), ctx);
    const [inner] = ctx.dispatched;
    expect(inner.inBatch).toBe(true);
    expect(inner.userId).toBe(USER);
    expect(inner.headers["x-ms-client-app"]).toBe("sync");
    expect(inner.headers["mscrm.suppressduplicatedetection"]).toBe("false");
    expect(inner.headers["content-type"]).toBe("application/json");
    expect(inner.headers.prefer).toBeUndefined();
    expect(inner.url.href).toBe("http://127.0.0.1:9/api/data/v9.2/contacts");
  });

  it("accepts absolute inner URLs and bare LF line ends", async () => {
    const ctx = fakeContext();
    const response = await handleBatch(batchRequest([{ ...createMentor("m-1"), url: "https://org.crm4.dynamics.com/api/data/v9.2/contacts" }], {}, "\n"), ctx);
    expect(response.status).toBe(200);
    expect(ctx.rows("contact")).toHaveLength(1);
    expect(ctx.dispatched[0].url.origin).toBe("http://127.0.0.1:9");
  });

  it("rolls back a failing changeset and answers with that one failure part and its status", async () => {
    // Prepare
    const ctx = fakeContext();
    const changeset = [
      { ...createMentor("m-1"), contentId: "1" },
      { ...createMentor("m-2", { badcolumn: 1 }), contentId: "2" },
    ];
    // Act
    const response = await handleBatch(batchRequest([changeset]), ctx);
    // Assess
    expect(response.status).toBe(400);
    const items = readBatchResponse(response.headers["content-type"], response.body!);
    expect(items).toHaveLength(1);
    const only = items[0] as WireResponse;
    expect(only.status).toBe(400);
    expect(only.contentId).toBe("2");
    expect(JSON.parse(only.body).error.code).toBe("0x80048d19");
    expect(only.headers.req_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.rows("contact")).toEqual([]);
    expect(ctx.events).toEqual([]);
  });

  it("commits a successful changeset and echoes each Content-ID inside a changesetresponse", async () => {
    const ctx = fakeContext();
    const response = await handleBatch(batchRequest([[{ ...createMentor("m-1"), contentId: "a" }, { ...createMentor("m-2"), contentId: "b" }]]), ctx);
    expect(response.status).toBe(200);
    expect(response.body).toMatch(/boundary=changesetresponse_[0-9a-f-]{36}/);
    const [changeset] = readBatchResponse(response.headers["content-type"], response.body!) as WireResponse[][];
    expect(changeset.map((p) => [p.contentId, p.status])).toEqual([["a", 204], ["b", 204]]);
    expect(ctx.events.map((e) => e.message)).toEqual(["Create", "Create"]);
  });

  it("stops at the first failing part by default, answering its status with only that part", async () => {
    const ctx = fakeContext();
    const response = await handleBatch(batchRequest([createMentor("m-1"), { method: "PATCH", url: "contacts(00000000-0000-0000-0000-000000000001)", headers: { "If-Match": "*" }, body: { firstname: "x" } }, createMentor("m-3")]), ctx);
    expect(response.status).toBe(404);
    const items = readBatchResponse(response.headers["content-type"], response.body!) as WireResponse[];
    expect(items.map((p) => p.status)).toEqual([404]);
    expect(ctx.rows("contact").map((r) => r.hlf_mentorid)).toEqual(["m-1"]);
  });

  it("runs every part under continue-on-error and reports each status with Preference-Applied", async () => {
    const ctx = fakeContext();
    const response = await handleBatch(
      batchRequest([createMentor("m-1"), createMentor("m-1"), [createMentor("m-9", { badcolumn: 1 })], createMentor("m-3")], { prefer: "odata.continue-on-error" }),
      ctx,
    );
    expect(response.status).toBe(200);
    expect(response.headers["preference-applied"]).toBe("odata.continue-on-error");
    const items = readBatchResponse(response.headers["content-type"], response.body!) as WireResponse[];
    expect(items.map((p) => p.status)).toEqual([204, 412, 400, 204]);
    expect(ctx.rows("contact").map((r) => r.hlf_mentorid).sort()).toEqual(["m-1", "m-3"]);
  });

  it("substitutes $n references in URLs and in @odata.bind values within a changeset", async () => {
    // Prepare
    const ctx = fakeContext();
    const changeset: WireOp[] = [
      { method: "POST", url: "/api/data/v9.2/hlf_mentorgroups", body: { hlf_name: "North", hlf_groupcode: "g-north" }, contentId: "1" },
      { ...createMentor("m-1", { "hlf_GroupId@odata.bind": "$1" }), contentId: "2" },
      { method: "PATCH", url: "$2", body: { lastname: "Lovelace" }, contentId: "3" },
      { method: "PUT", url: "$2/emailaddress1", body: { value: "ada@example.org" }, contentId: "4" },
    ];
    // Act
    const response = await handleBatch(batchRequest([changeset]), ctx);
    // Assess
    expect(response.status).toBe(200);
    const [group] = ctx.rows("hlf_mentorgroup");
    const [mentor] = ctx.rows("contact");
    expect(mentor._hlf_groupid_value).toBe(group.hlf_mentorgroupid);
    expect(mentor.lastname).toBe("Lovelace");
    expect(mentor.emailaddress1).toBe("ada@example.org");
    expect(ctx.dispatched[2].url.pathname).toBe(`/api/data/v9.2/contacts(${mentor.contactid})`);
  });

  it("fails with 400 on a reference to a Content-ID not declared before it", async () => {
    const ctx = fakeContext();
    const response = await handleBatch(batchRequest([[createMentor("m-1"), { method: "PATCH", url: "$1", body: { lastname: "x" }, contentId: "2" }]]), ctx);
    expect(response.status).toBe(400);
    const [part] = readBatchResponse(response.headers["content-type"], response.body!) as WireResponse[];
    expect(JSON.parse(part.body).error.message).toBe("Content-ID Reference: '$1' does not exist in the batch context.");
    expect(ctx.rows("contact")).toEqual([]);
  });

  it("rejects 1,001 operations as a whole with a JSON 400 and runs none", async () => {
    const ctx = fakeContext();
    const ops = Array.from({ length: 1001 }, (_, i) => createMentor(`m-${i}`));
    const response = await handleBatch(batchRequest([ops.slice(0, 500), ...ops.slice(500)]), ctx);
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(response.body!).error.message).toContain("1000");
    expect(ctx.dispatched).toEqual([]);
  });

  it("accepts exactly 1,000 operations", async () => {
    const ctx = fakeContext();
    const response = await handleBatch(batchRequest(Array.from({ length: 1000 }, (_, i) => createMentor(`m-${i}`))), ctx);
    expect(response.status).toBe(200);
    expect(ctx.rows("contact")).toHaveLength(1000);
  });

  it("rejects a GET inside a changeset with a JSON 400", async () => {
    const ctx = fakeContext();
    const response = await handleBatch(batchRequest([[createMentor("m-1"), { method: "GET", url: "contacts" }]]), ctx);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body!).error.message).toMatch(/GET/);
    expect(ctx.dispatched).toEqual([]);
  });

  it.each([
    ["no multipart content type", { "content-type": "application/json" }, "{}"],
    ["a missing closing boundary", {}, "--batch_abc\r\nContent-Type: application/http\r\n\r\nGET contacts HTTP/1.1\r\n\r\n"],
    ["a part that is not application/http", {}, "--batch_abc\r\nContent-Type: text/plain\r\n\r\nhello\r\n--batch_abc--\r\n"],
    ["a nested batch", {}, "--batch_abc\r\nContent-Type: application/http\r\n\r\nPOST /api/data/v9.2/$batch HTTP/1.1\r\n\r\n\r\n--batch_abc--\r\n"],
  ])("answers a malformed batch (%s) with a non-multipart JSON 400", async (_name, headers, body) => {
    const ctx = fakeContext();
    const request = { ...batchRequest([]), body };
    request.headers = { ...request.headers, ...headers };
    const response = await handleBatch(request, ctx);
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(response.body!).error.message).toBeTruthy();
  });

  it("counts operations across parts and changesets for service protection", () => {
    expect(countBatchOperations(batchRequest([createMentor("a"), [createMentor("b"), createMentor("c")]]))).toBe(3);
    expect(countBatchOperations({ headers: {}, body: "" })).toBe(0);
  });
});
