import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch } from "../../../shared/dataverse/batch.js";
import { classifyDataverseError } from "../../../shared/dataverse/classifyDataverseError.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/dataverse/${name}`, import.meta.url), "utf8");
/** Fixtures are stored with LF; the wire uses CRLF. */
const toWire = (text: string) => text.replace(/\r?\n/g, "\r\n");
const contentTypeOf = (text: string) => `multipart/mixed; boundary=${text.split(/\r?\n/)[0].slice(2)}`;
const response = (name: string) => {
  const body = toWire(fixture(name));
  return { contentType: contentTypeOf(body), body };
};

describe("encodeBatch", () => {
  it("produces the documented request byte for byte", () => {
    const { contentType, body } = encodeBatch(
      [
        { method: "POST", url: "/api/data/v9.2/tasks", body: '{"subject":"Task 1 in batch","regardingobjectid_account_task@odata.bind":"accounts(00000000-0000-0000-0000-000000000001)"}' },
        { method: "GET", url: "/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)/Account_Tasks?$select=subject" },
      ],
      { serviceRoot: "https://org.crm.dynamics.com/api/data/v9.2/", boundary: "batch_80dd1615-2a10-428a-bb6f-0e559792721f" },
    );

    expect(body).toBe(toWire(fixture("batch-request.http")));
    expect(contentType).toBe("multipart/mixed; boundary=batch_80dd1615-2a10-428a-bb6f-0e559792721f");
  });

  it("resolves service-relative urls and wraps changesets with Content-IDs", () => {
    const { body } = encodeBatch(
      [{ changeset: [{ method: "POST", url: "contacts", body: "{}", contentId: "1" }, { method: "PATCH", url: "$1", body: "{}", contentId: "2" }] }, { method: "DELETE", url: "contacts(00000000-0000-0000-0000-000000000009)" }],
      { serviceRoot: "https://org.crm.dynamics.com/api/data/v9.2/", boundary: "batch_x" },
    );

    expect(body).toMatch(/^--batch_x\r\nContent-Type: multipart\/mixed; boundary=changeset_[0-9a-f-]+\r\n\r\n--changeset_/);
    expect(body).toContain("Content-ID: 1\r\n\r\nPOST https://org.crm.dynamics.com/api/data/v9.2/contacts HTTP/1.1\r\n");
    expect(body).toContain("Content-ID: 2\r\n\r\nPATCH $1 HTTP/1.1\r\n");
    expect(body).toContain("DELETE https://org.crm.dynamics.com/api/data/v9.2/contacts(00000000-0000-0000-0000-000000000009) HTTP/1.1\r\n");
    expect(body.endsWith("--batch_x--\r\n")).toBe(true);
    expect(body.replace(/\r\n/g, "")).not.toContain("\n");
  });

  it("round-trips through decodeBatch's multipart parser", () => {
    const { contentType, body } = encodeBatch([{ method: "GET", url: "WhoAmI" }], { serviceRoot: "https://o.crm.dynamics.com/api/data/v9.2/" });
    const reply = body.replace("GET https://o.crm.dynamics.com/api/data/v9.2/WhoAmI HTTP/1.1", "HTTP/1.1 200 OK\r\nContent-Type: application/json");

    const parts = decodeBatch(contentType, reply);

    expect(parts).toHaveLength(1);
    expect(parts[0].status).toBe(200);
  });
});

describe("decodeBatch", () => {
  it("decodes the documented response: a 204 with OData-EntityId and a 200 with JSON", () => {
    const { contentType, body } = response("batch-response.http");

    const parts = decodeBatch(contentType, body);

    expect(parts.map((p) => p.status)).toEqual([204, 200]);
    expect(parts[0].headers.get("odata-entityid")).toBe("[Org]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)");
    expect(parts[0].text).toBe("");
    expect(JSON.parse(parts[1].text).value[0].subject).toBe("Task 1 in batch");
  });

  it("flattens a changesetresponse and keeps each Content-ID", () => {
    const { contentType, body } = response("changeset-response.http");

    const parts = decodeBatch(contentType, body);

    expect(parts.map((p) => [p.status, p.contentId, p.inChangeset ?? false])).toEqual([
      [204, "1", true],
      [204, "2", true],
      [200, undefined, false],
    ]);
  });

  it("reads a failed changeset as one error part that classifies as a duplicate key", () => {
    const { contentType, body } = response("failed-changeset-response.http");

    const parts = decodeBatch(contentType, body);

    expect(parts).toHaveLength(1);
    expect(classifyDataverseError(parts[0])).toMatchObject({ code: "DUPLICATE_KEY", status: 412, remoteCode: "0x80060892" });
  });

  it("reads the stop-on-error body and keeps the server's validation message", () => {
    const { contentType, body } = response("stop-on-error-response.http");

    const [part] = decodeBatch(contentType, body);

    expect(part.headers.get("req_id")).toBe("5ecd1cb3-1730-4ffc-909c-d44c22270026");
    expect(classifyDataverseError(part)).toMatchObject({ code: "REJECTED", kind: "permanent", remoteCode: "0x80044331" });
    expect(classifyDataverseError(part).message).toContain("exceeded the maximum allowed length of '200'");
  });

  it("gives one result per part with continue-on-error, failures included", () => {
    const { contentType, body } = response("continue-on-error-response.http");

    const parts = decodeBatch(contentType, body);

    expect(parts.map((p) => p.status)).toEqual([204, 400, 204]);
    expect(JSON.parse(parts[1].text).error.message).toBe("Mentor score must be between 0 and 100.");
  });

  it("also accepts LF line ends and a quoted boundary", () => {
    const text = fixture("batch-response.http");
    const boundary = text.split("\n")[0].slice(2);

    const parts = decodeBatch(`multipart/mixed; boundary="${boundary}"`, text);

    expect(parts.map((p) => p.status)).toEqual([204, 200]);
  });

  it("rejects a non-multipart body such as a whole-batch JSON error", () => {
    expect(() => decodeBatch("application/json", '{"error":{"code":"","message":"bad"}}')).toThrow(/multipart/);
  });
});
