import { describe, expect, it } from "vitest";
import { ErrorCodes, type SyncError } from "../../../shared/errors.js";
import type { BulkWrite } from "../../../shared/ports.js";
import { jsonResponse, type RecordedCall } from "../http/fakes.js";
import { clientWith, collect, guid, root } from "./support.js";

/** Issue #19 part A: a Dataverse answer counts only when it is the documented one. */

const errorBody = { error: { code: "0x80040265", message: "not done" } };
const updates = (n: number): BulkWrite[] => Array.from({ length: n }, (_, i) => ({ ref: `u${i}`, kind: "update", id: guid(i + 1), body: { firstname: `U${i}` } }));

/** A `$batch` answer with `parts` parts, each `status` with `body`. */
const batchAnswer = (parts: number, status: number, body = "") => (_call: RecordedCall) => {
  const part = `--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${status} X\r\n\r\n${body}\r\n`;
  return new Response(`${part.repeat(parts)}--b--\r\n`, { status: 200, headers: { "content-type": "multipart/mixed; boundary=b" } });
};

const reason = (e: unknown) => e as SyncError;

describe("Dataverse write answers (#19 part A)", () => {
  it("does not take an UpdateMultiple answered 200 with an error body as done: the records go again as $batch parts", async () => {
    const { client, fetch } = clientWith([jsonResponse(200, errorBody), batchAnswer(2, 204)]);

    const results = await client.writeMany("contacts", "contact", updates(2));

    expect(fetch.calls.map((c) => c.url.split("/").pop())).toEqual(["Microsoft.Dynamics.CRM.UpdateMultiple", "$batch"]);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it("fails each record whose $batch part answers 200 with an error body as UNEXPECTED_RESPONSE", async () => {
    const { client } = clientWith([jsonResponse(200, errorBody), batchAnswer(2, 200, JSON.stringify(errorBody))]);

    const results = await client.writeMany("contacts", "contact", updates(2));

    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: ErrorCodes.UnexpectedResponse, message: expect.stringContaining("200 with an error body [0x80040265]: not done") } });
  });

  it("trusts no part of a $batch answer whose parts are not one per request", async () => {
    const { client } = clientWith([jsonResponse(400, errorBody), batchAnswer(1, 204)]);

    const results = await client.writeMany("contacts", "contact", updates(2));

    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: ErrorCodes.UnexpectedResponse, message: expect.stringContaining("1 response parts") } });
  });

  it("fails a CreateMultiple whose Ids are not one per Target when every resend answers the same", async () => {
    const creates: BulkWrite[] = [1, 2].map((n) => ({ ref: `c${n}`, kind: "create", id: guid(n), body: { firstname: "C" } }));
    const { client } = clientWith([jsonResponse(200, { Ids: [guid(1)] }), jsonResponse(200, errorBody), batchAnswer(2, 200, "{}x")]);

    const results = await client.writeMany("contacts", "contact", creates);

    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: ErrorCodes.UnexpectedResponse } });
  });

  it("fails a single update answered 200 with an error body", async () => {
    const { client } = clientWith([jsonResponse(200, errorBody)]);
    const error = await client.update("contacts", guid(1), { hlf_mentorid: "m-1" }).then(() => undefined, reason);
    expect(error).toMatchObject({ code: ErrorCodes.UnexpectedResponse, status: 200 });
  });

  it("does not read a query page answered 200 with an error body as an empty page", async () => {
    const { client } = clientWith([jsonResponse(200, errorBody)]);
    const error = await collect(client.query("contacts", { select: ["contactid"] })).then(() => undefined, reason);
    expect(error).toMatchObject({ code: ErrorCodes.UnexpectedResponse, message: expect.stringContaining("with an error body") });
  });

  it("ends a change-tracking read whose next link leads back to the delta link it began at with FEED_LOOP", async () => {
    const delta = `${root}contacts?$select=contactid&$deltatoken=1`;
    const { client, fetch } = clientWith([jsonResponse(200, { value: [], "@odata.nextLink": delta })]);
    const error = await collect(client.readChanges("contacts", { select: ["contactid"], deltaLink: delta })).then(() => undefined, reason);
    expect(error).toMatchObject({ code: ErrorCodes.FeedLoop });
    expect(fetch.calls).toHaveLength(1);
  });
});
