import { describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch } from "../../../shared/dataverse/batch.js";
import type { BulkWrite } from "../../../shared/ports.js";
import { jsonResponse, networkReset, timeoutError, type RecordedCall } from "../http/fakes.js";
import { clientWith, guid, root } from "./support.js";

/** Answers a `$batch` request with one part per inner request, status chosen by `statusOf`. */
function batchReply(statusOf: (line: string, i: number) => number) {
  return (call: RecordedCall) => {
    const lines = call.body!.split("\r\n").filter((l) => / HTTP\/1\.1$/.test(l));
    const parts = lines.map((line, i) => {
      const status = statusOf(line, i);
      const body = status >= 400 ? JSON.stringify({ error: { code: "0x80040265", message: `record ${i} rejected by plug-in` } }) : undefined;
      return { method: "GET", url: `/${status}`, body, i, line };
    });
    const { contentType, body } = encodeBatch(parts.map(({ url }) => ({ method: "GET", url })), { serviceRoot: root, boundary: "batchresponse_t" });
    // Turn the encoded request lines into response status lines: same framing, response content.
    let out = body;
    for (const p of parts) {
      const status = Number(p.url.slice(1));
      const head = status >= 400 ? `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/json` : `HTTP/1.1 ${status} No Content\r\nOData-EntityId: ${root}contacts(${guid(100 + p.i)})`;
      out = out.replace(`GET ${p.url} HTTP/1.1\r\n\r\n`, `${head}\r\n\r\n${p.body ?? ""}`);
    }
    return new Response(out, { status: 200, headers: { "content-type": contentType } });
  };
}

const upserts = (n: number): BulkWrite[] => Array.from({ length: n }, (_, i) => ({ ref: `m-${i}`, kind: "upsert", key: { hlf_mentorid: `m-${i}` }, body: { firstname: `F${i}` } }));

describe("writeMany", () => {
  it("sends upserts as UpsertMultiple with @odata.type and @odata.id key URLs", async () => {
    const { client, fetch } = clientWith([new Response(null, { status: 204 })]);

    const results = await client.writeMany("contacts", "contact", upserts(2));

    expect(results).toEqual([{ ref: "m-0", ok: true }, { ref: "m-1", ok: true }]);
    expect(fetch.calls[0].url).toBe(`${root}contacts/Microsoft.Dynamics.CRM.UpsertMultiple`);
    expect(JSON.parse(fetch.calls[0].body!)).toEqual({
      Targets: [
        { firstname: "F0", "@odata.type": "Microsoft.Dynamics.CRM.contact", "@odata.id": "contacts(hlf_mentorid='m-0')" },
        { firstname: "F1", "@odata.type": "Microsoft.Dynamics.CRM.contact", "@odata.id": "contacts(hlf_mentorid='m-1')" },
      ],
    });
  });

  it("returns results in input order across kinds, with CreateMultiple ids and the primary id in UpdateMultiple", async () => {
    const writes: BulkWrite[] = [
      { ref: "u1", kind: "update", id: guid(5), body: { firstname: "U" } },
      { ref: "c1", kind: "create", body: { firstname: "C1" } },
      { ref: "c2", kind: "create", body: { firstname: "C2" } },
    ];
    const { client, fetch } = clientWith([
      (call) => (call.url.endsWith("CreateMultiple") ? jsonResponse(200, { Ids: [guid(1), guid(2)] }) : new Response(null, { status: 204 })),
      (call) => (call.url.endsWith("CreateMultiple") ? jsonResponse(200, { Ids: [guid(1), guid(2)] }) : new Response(null, { status: 204 })),
    ]);

    const results = await client.writeMany("contacts", "contact", writes);

    expect(results).toEqual([{ ref: "u1", ok: true, id: guid(5) }, { ref: "c1", ok: true, id: guid(1) }, { ref: "c2", ok: true, id: guid(2) }]);
    const update = fetch.calls.find((c) => c.url.endsWith("UpdateMultiple"))!;
    expect(JSON.parse(update.body!).Targets[0]).toEqual({ firstname: "U", "@odata.type": "Microsoft.Dynamics.CRM.contact", contactid: guid(5) });
  });

  it("isolates one bad record by resending a failed bulk call as a continue-on-error $batch", async () => {
    // Prepare: the bulk call fails as a whole because of record 1; the batch rejects only record 1.
    const { client, fetch } = clientWith([
      jsonResponse(400, { error: { code: "0x80040265", message: "Mentor score must be between 0 and 100." } }),
      batchReply((_line, i) => (i === 1 ? 400 : 204)),
    ]);

    // Act
    const results = await client.writeMany("contacts", "contact", upserts(3));

    // Assess
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ref: "m-1", ok: false, error: { code: "REJECTED", kind: "permanent" } });
    const batch = fetch.calls[1];
    expect(batch.url).toBe(`${root}$batch`);
    expect(batch.headers.prefer).toBe("odata.continue-on-error");
    expect(batch.body).not.toContain("changeset");
    expect(batch.body).toContain(`PATCH ${root}contacts(hlf_mentorid='m-1') HTTP/1.1`);
  });

  it("sends deletes as a $batch and reports each record", async () => {
    const { client, fetch } = clientWith([batchReply((line) => (line.includes(guid(2)) ? 404 : 204))]);

    const results = await client.writeMany("contacts", "contact", [
      { ref: "a", kind: "delete", id: guid(1) },
      { ref: "b", kind: "delete", id: guid(2) },
    ]);

    expect(results[0]).toMatchObject({ ref: "a", ok: true });
    expect(results[1]).toMatchObject({ ref: "b", ok: false, error: { status: 404 } });
    const parts = decodeBatch(`multipart/mixed; boundary=${fetch.calls[0].body!.split("\r\n")[0].slice(2)}`, fetch.calls[0].body!.replace(/DELETE (\S+) HTTP\/1\.1/g, "HTTP/1.1 200 OK"));
    expect(parts).toHaveLength(2);
  });

  it("dates a throttled $batch part's Retry-After by the product's clock, not the machine's", async () => {
    const { client, clock } = clientWith([(call) => {
      const boundary = "batchresponse_t";
      const retryAt = new Date(clock.now() + 30_000).toUTCString();
      const part = `HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: ${retryAt}\r\n\r\n` +
        JSON.stringify({ error: { code: "0x80072321", message: "Number of requests exceeded the limit" } });
      expect(call.body).toContain("DELETE");
      const body = `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${part}\r\n--${boundary}--\r\n`;
      return new Response(body, { status: 200, headers: { "content-type": `multipart/mixed; boundary=${boundary}` } });
    }]);

    const [result] = await client.writeMany("contacts", "contact", [{ ref: "a", kind: "delete", id: guid(1) }]);

    // The fake clock is years behind the machine's: measured by Date.now(), the date has passed.
    expect(result).toMatchObject({ ref: "a", ok: false, error: { code: "THROTTLED", retryAfterMs: 30_000 } });
  });

  it("retries a throttled bulk call as a whole instead of failing records", async () => {
    const { client, fetch, clock } = clientWith([jsonResponse(429, { error: { code: "0x80072321", message: "Combined execution time" } }, { "Retry-After": "2" }), new Response(null, { status: 204 })]);

    const results = await client.writeMany("contacts", "contact", upserts(2));

    expect(results.every((r) => r.ok)).toBe(true);
    expect(fetch.calls.map((c) => c.url.split("/").pop())).toEqual(["Microsoft.Dynamics.CRM.UpsertMultiple", "Microsoft.Dynamics.CRM.UpsertMultiple"]);
    expect(clock.sleeps).toEqual([2_000]);
  });

  it("chunks by bulkSize and halves the chunk after a timeout", async () => {
    const sizes: number[] = [];
    const { client } = clientWith(
      [
        (c) => { sizes.push(JSON.parse(c.body!).Targets.length); throw timeoutError(); },
        ...Array.from({ length: 6 }, () => (c: RecordedCall) => { sizes.push(JSON.parse(c.body!).Targets.length); return new Response(null, { status: 204 }); }),
      ],
      { bulkSize: 40, maxConcurrency: 1 },
    );

    const results = await client.writeMany("contacts", "contact", upserts(60));

    expect(results.every((r) => r.ok)).toBe(true);
    expect(sizes[0]).toBe(40);
    expect(sizes.slice(1, 3)).toEqual([20, 20]);
    expect(sizes.slice(1).reduce((a, b) => a + b, 0)).toBe(60);
  });

  it("splits a timed-out bulk create that carries ids into upserts by id, since the timed-out call may have run", async () => {
    const calls: Array<{ message: string; targets: Array<Record<string, unknown>> }> = [];
    const record = (c: RecordedCall) => calls.push({ message: c.url.split(".").pop()!, targets: JSON.parse(c.body!).Targets });
    const { client } = clientWith(
      [(c) => { record(c); throw timeoutError(); }, ...Array.from({ length: 2 }, () => (c: RecordedCall) => (record(c), new Response(null, { status: 204 })))],
      { bulkSize: 4, maxConcurrency: 1 },
    );
    const writes: BulkWrite[] = Array.from({ length: 4 }, (_, i) => ({ ref: `c${i}`, kind: "create", id: guid(i + 1), body: { firstname: `C${i}` } }));

    const results = await client.writeMany("contacts", "contact", writes);

    expect(results).toEqual(writes.map((w) => ({ ref: w.ref, ok: true, id: w.id })));
    expect(calls.map((c) => [c.message, c.targets.length])).toEqual([["CreateMultiple", 4], ["UpsertMultiple", 2], ["UpsertMultiple", 2]]);
    expect(calls[1].targets[0]).toEqual({ firstname: "C0", "@odata.type": "Microsoft.Dynamics.CRM.contact", "@odata.id": `contacts(${guid(1)})` });
  });

  it("resends a create whose connection broke as an upsert by id instead of retrying the create", async () => {
    const { client, fetch } = clientWith([networkReset(), new Response(null, { status: 204 })]);

    const results = await client.writeMany("contacts", "contact", [{ ref: "c", kind: "create", id: guid(7), body: { firstname: "C" } }]);

    expect(results).toEqual([{ ref: "c", ok: true, id: guid(7) }]);
    expect(fetch.calls.map((c) => c.url.split(".").pop())).toEqual(["CreateMultiple", "UpsertMultiple"]);
  });

  it("settles a bulk create that meets its own earlier rows (a redelivered message) with one upsert by id", async () => {
    const { client, fetch } = clientWith([
      jsonResponse(412, { error: { code: "0x80040237", message: "Cannot insert duplicate key." } }),
      new Response(null, { status: 204 }),
    ]);
    const writes: BulkWrite[] = [1, 2, 3].map((n) => ({ ref: `c${n}`, kind: "create", id: guid(n), body: { firstname: `C${n}` } }));

    const results = await client.writeMany("contacts", "contact", writes);

    expect(results).toEqual(writes.map((w) => ({ ref: w.ref, ok: true, id: w.id })));
    expect(fetch.calls.map((c) => c.url.split(".").pop())).toEqual(["CreateMultiple", "UpsertMultiple"]);
  });

  it("isolates a record whose key another row holds with PATCH-by-id parts, so its neighbours still land", async () => {
    const duplicate = { error: { code: "0x80060892", message: "Entity Key hlf_mentorid violated. A record with the same value for hlf_mentorid already exists." } };
    const { client, fetch } = clientWith([
      jsonResponse(412, duplicate),
      jsonResponse(412, duplicate),
      batchReply((_line, i) => (i === 1 ? 412 : 204)),
    ]);
    const writes: BulkWrite[] = [1, 2, 3].map((n) => ({ ref: `c${n}`, kind: "create", id: guid(n), body: { firstname: `C${n}` } }));

    const results = await client.writeMany("contacts", "contact", writes);

    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(fetch.calls.map((c) => c.url.split("/").pop())).toEqual(["Microsoft.Dynamics.CRM.CreateMultiple", "Microsoft.Dynamics.CRM.UpsertMultiple", "$batch"]);
    const lines = fetch.calls[2].body!.split("\r\n").filter((l) => / HTTP\/1\.1$/.test(l));
    expect(lines).toEqual([1, 2, 3].map((n) => `PATCH ${root}contacts(${guid(n)}) HTTP/1.1`));
    expect(fetch.calls[2].body).not.toContain("If-Match");
  });

  it("retries a create without an id as it was after a broken connection (there is no id to upsert by)", async () => {
    const { client, fetch } = clientWith([networkReset(), jsonResponse(200, { Ids: [guid(9)] })]);

    const results = await client.writeMany("contacts", "contact", [{ ref: "c", kind: "create", body: { firstname: "C" } }]);

    expect(results).toEqual([{ ref: "c", ok: true, id: guid(9) }]);
    expect(fetch.calls.map((c) => c.url.split(".").pop())).toEqual(["CreateMultiple", "CreateMultiple"]);
  });

  it("fails a write that lacks its id or key without sending it", async () => {
    const { client, fetch } = clientWith([]);

    const results = await client.writeMany("contacts", "contact", [{ ref: "x", kind: "update", body: {} }, { ref: "y", kind: "upsert", body: {} }]);

    expect(results.map((r) => !r.ok && r.error.kind)).toEqual(["validation", "validation"]);
    expect(fetch.calls).toHaveLength(0);
  });
});

/** Request lines and If-Match header of each part of a recorded `$batch` body, in order. */
function batchParts(body: string): Array<{ line: string; ifMatch?: string }> {
  const boundary = body.split("\r\n")[0];
  return body.split(boundary).slice(1, -1).map((part) => {
    const lines = part.split("\r\n");
    const line = lines.find((l) => / HTTP\/1\.1$/.test(l))!;
    const ifMatch = lines.find((l) => /^If-Match: /i.test(l))?.slice("If-Match: ".length);
    return ifMatch === undefined ? { line } : { line, ifMatch };
  });
}

/** Answers a `$batch` with one part per inner request: the status and error code chosen per part. */
function batchAnswer(answerOf: (i: number) => { status: number; code?: string; message?: string }) {
  return (call: RecordedCall) => {
    const parts = batchParts(call.body!).map((_, i) => {
      const { status, code = "", message = "m" } = answerOf(i);
      const body = status >= 400 ? JSON.stringify({ error: { code, message } }) : "";
      const head = status >= 400 ? `HTTP/1.1 ${status} Error\r\nContent-Type: application/json` : `HTTP/1.1 ${status} No Content`;
      return `--batchresponse_rv\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${head}\r\n\r\n${body}\r\n`;
    });
    return new Response(`${parts.join("")}--batchresponse_rv--\r\n`, { status: 200, headers: { "content-type": "multipart/mixed; boundary=batchresponse_rv" } });
  };
}

describe("writeMany with row versions", () => {
  const update = (n: number, ifMatch?: string): BulkWrite => ({ ref: `u${n}`, kind: "update", id: guid(n), body: { firstname: `U${n}` }, ...(ifMatch ? { ifMatch } : {}) });

  it("sends updates that carry ifMatch as $batch parts with that If-Match, and the others as UpdateMultiple", async () => {
    // Prepare: one chunk that mixes conditional and plain updates
    const { client, fetch } = clientWith([
      (c) => (c.url.endsWith("$batch") ? batchAnswer(() => ({ status: 204 }))(c) : new Response(null, { status: 204 })),
      (c) => (c.url.endsWith("$batch") ? batchAnswer(() => ({ status: 204 }))(c) : new Response(null, { status: 204 })),
    ]);
    const writes = [update(1, 'W/"101"'), update(2), update(3, 'W/"103"'), update(4)];

    // Act
    const results = await client.writeMany("contacts", "contact", writes);

    // Assess
    expect(results).toEqual(writes.map((w) => ({ ref: w.ref, ok: true, id: w.id })));
    const bulk = fetch.calls.filter((c) => c.url.endsWith("UpdateMultiple"));
    expect(bulk).toHaveLength(1);
    expect(JSON.parse(bulk[0].body!).Targets.map((t: Record<string, unknown>) => t.contactid)).toEqual([guid(2), guid(4)]);
    const batch = fetch.calls.find((c) => c.url === `${root}$batch`)!;
    expect(batch.headers.prefer).toBe("odata.continue-on-error");
    expect(batchParts(batch.body!)).toEqual([
      { line: `PATCH ${root}contacts(${guid(1)}) HTTP/1.1`, ifMatch: 'W/"101"' },
      { line: `PATCH ${root}contacts(${guid(3)}) HTTP/1.1`, ifMatch: 'W/"103"' },
    ]);
    expect(batch.body).not.toContain("changeset");
  });

  it("fails only the stale record with CONCURRENCY and keeps a duplicate key apart by its error code", async () => {
    const { client } = clientWith([
      batchAnswer((i) =>
        i === 1 ? { status: 412, code: "0x80060882", message: "The version of the existing record doesn't match the RowVersion property provided." }
        : i === 2 ? { status: 412, code: "0x80060892", message: "Entity Key hlf_mentorid violated." }
        : { status: 204 }),
    ]);

    const results = await client.writeMany("contacts", "contact", [update(1, 'W/"1"'), update(2, 'W/"2"'), update(3, 'W/"3"'), update(4, 'W/"4"')]);

    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["ok", "CONCURRENCY", "DUPLICATE_KEY", "ok"]);
    expect(results[1]).toMatchObject({ ok: false, error: { kind: "conflict", status: 412, remoteCode: "0x80060882" } });
  });

  it("puts If-Match on a delete part only when the delete carries ifMatch", async () => {
    const { client, fetch } = clientWith([batchAnswer(() => ({ status: 204 }))]);

    await client.writeMany("contacts", "contact", [{ ref: "a", kind: "delete", id: guid(1), ifMatch: 'W/"7"' }, { ref: "b", kind: "delete", id: guid(2) }]);

    expect(batchParts(fetch.calls[0].body!)).toEqual([{ line: `DELETE ${root}contacts(${guid(1)}) HTTP/1.1`, ifMatch: 'W/"7"' }, { line: `DELETE ${root}contacts(${guid(2)}) HTTP/1.1` }]);
  });

  it("keeps If-Match * on plain updates that fall back from UpdateMultiple to $batch", async () => {
    const { client, fetch } = clientWith([jsonResponse(400, { error: { code: "0x80040265", message: "rejected by plug-in" } }), batchAnswer(() => ({ status: 204 }))]);

    await client.writeMany("contacts", "contact", [update(1), update(2)]);

    expect(batchParts(fetch.calls[1].body!).map((p) => p.ifMatch)).toEqual(["*", "*"]);
  });

  it("halves a conditional $batch that timed out instead of resending it whole", async () => {
    const sizes: number[] = [];
    const record = (c: RecordedCall) => sizes.push(batchParts(c.body!).length);
    const { client } = clientWith(
      [(c) => { record(c); throw timeoutError(); }, (c) => (record(c), batchAnswer(() => ({ status: 204 }))(c)), (c) => (record(c), batchAnswer(() => ({ status: 204 }))(c))],
      { bulkSize: 20, maxConcurrency: 1 },
    );

    const results = await client.writeMany("contacts", "contact", Array.from({ length: 20 }, (_, i) => update(i + 1, `W/"${i}"`)));

    expect(results.every((r) => r.ok)).toBe(true);
    expect(sizes).toEqual([20, 10, 10]);
    expect(client.bulkSize()).toBe(10);
  });

  it("rejects an ifMatch that is not a row version, or on a create or upsert, without sending anything", async () => {
    const { client, fetch } = clientWith([]);

    const results = await client.writeMany("contacts", "contact", [
      update(1, '123'),
      { ref: "inj", kind: "update", id: guid(2), body: {}, ifMatch: 'W/"1"\r\nX-Evil: 1' },
      { ref: "c", kind: "create", body: {}, ifMatch: 'W/"1"' },
      { ref: "u", kind: "upsert", key: { hlf_mentorid: "m" }, body: {}, ifMatch: 'W/"1"' },
    ]);

    expect(results.map((r) => !r.ok && r.error.kind)).toEqual(["validation", "validation", "validation", "validation"]);
    expect(results.map((r) => !r.ok && r.error.message)).toEqual([
      expect.stringContaining("is not a row version"),
      expect.stringContaining("is not a row version"),
      "create c: ifMatch applies to update and delete only",
      "upsert u: ifMatch applies to update and delete only",
    ]);
    expect(fetch.calls).toHaveLength(0);
  });
});
