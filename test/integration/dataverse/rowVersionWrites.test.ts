import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDataverseClient, type DataverseClientExtras } from "../../../shared/dataverse/createDataverseClient.js";
import type { BulkWrite } from "../../../shared/ports.js";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";
import { FakeClock } from "../../unit/http/fakes.js";

/** Row-version writes (issue #11): the real client against the emulator, checked on the wire. */
let t: TestEmulator;
let client: DataverseClientExtras;
beforeAll(async () => {
  t = await startTestEmulator();
  const token = await t.token();
  client = createDataverseClient({ instanceUrl: t.emulator.origin, tokens: { getToken: async () => token }, clock: new FakeClock() });
});
afterAll(async () => {
  await t.emulator.stop();
});
beforeEach(() => t.emulator.log.clear());

const etagOf = (id: string) => String(t.emulator.row("contact", id)!["@odata.etag"]);
const outer = () => t.emulator.log.entries().filter((e) => !e.inBatch).map((e) => `${e.method} ${e.path.split("/").pop()}`);
const inner = () => t.emulator.log.entries().filter((e) => e.inBatch);

/** Ten contacts, each with the version a plan would have read. */
function seed(prefix: string): Array<{ id: string; etag: string }> {
  return Array.from({ length: 10 }, (_, i) => {
    const id = t.emulator.insert("contact", { firstname: `${prefix}${i}`, hlf_score: 0 });
    return { id, etag: etagOf(id) };
  });
}

describe("row-version writes through writeMany", () => {
  it("fails the one record a person changed since the read with CONCURRENCY, and the other nine land", async () => {
    // Prepare: the plan read ten rows; then a person edits row 4 in Dataverse
    const rows = seed("rv");
    await t.api(`contacts(${rows[4].id})`, { method: "PATCH", headers: { "if-match": "*" }, body: { firstname: "Edited by a person" } });
    t.emulator.log.clear();
    const writes: BulkWrite[] = rows.map((r, i) => ({ ref: `r${i}`, kind: "update", id: r.id, body: { hlf_score: 50 + i }, ifMatch: r.etag }));

    // Act
    const results = await client.writeMany("contacts", "contact", writes);

    // Assess: per-record results
    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["ok", "ok", "ok", "ok", "CONCURRENCY", "ok", "ok", "ok", "ok", "ok"]);
    expect(results[4]).toMatchObject({ ref: "r4", ok: false, error: { kind: "conflict", status: 412, remoteCode: "0x80060882" } });
    expect(rows.map((r) => t.emulator.row("contact", r.id)!.hlf_score)).toEqual([50, 51, 52, 53, 0, 55, 56, 57, 58, 59]);
    expect(t.emulator.row("contact", rows[4].id)!.firstname).toBe("Edited by a person");
    // Assess: the wire — one $batch with an If-Match W/"…" part per record, no UpdateMultiple
    expect(outer()).toEqual(["POST $batch"]);
    expect(inner().map((e) => [e.method, e.headers["if-match"], e.status])).toEqual(rows.map((r, i) => ["PATCH", r.etag, i === 4 ? 412 : 204]));
    expect(inner().every((e) => /^W\/"\d+"$/.test(e.headers["if-match"]))).toBe(true);
  });

  it("still sends updates without ifMatch as one UpdateMultiple", async () => {
    const rows = seed("plain");
    t.emulator.log.clear();

    const results = await client.writeMany("contacts", "contact", rows.map((r, i) => ({ ref: `p${i}`, kind: "update", id: r.id, body: { hlf_score: 70 } })));

    expect(results.every((r) => r.ok)).toBe(true);
    expect(outer()).toEqual(["POST Microsoft.Dynamics.CRM.UpdateMultiple"]);
    expect(rows.every((r) => t.emulator.row("contact", r.id)!.hlf_score === 70)).toBe(true);
  });

  it("splits a mixed chunk: conditional updates and deletes as $batch parts, plain updates as UpdateMultiple", async () => {
    // Prepare: rows 0-2 conditional updates (row 1 stale), 3-5 plain updates, 6 a current and 7 a stale conditional delete
    const rows = seed("mix");
    const staleUpdate = rows[1].etag;
    const staleDelete = rows[7].etag;
    for (const i of [1, 7]) await t.api(`contacts(${rows[i].id})`, { method: "PATCH", headers: { "if-match": "*" }, body: { lastname: "Moved on" } });
    t.emulator.log.clear();
    const writes: BulkWrite[] = [
      ...[0, 1, 2].map((i): BulkWrite => ({ ref: `c${i}`, kind: "update", id: rows[i].id, body: { hlf_score: 1 }, ifMatch: i === 1 ? staleUpdate : rows[i].etag })),
      ...[3, 4, 5].map((i): BulkWrite => ({ ref: `p${i}`, kind: "update", id: rows[i].id, body: { hlf_score: 2 } })),
      { ref: "d6", kind: "delete", id: rows[6].id, ifMatch: rows[6].etag },
      { ref: "d7", kind: "delete", id: rows[7].id, ifMatch: staleDelete },
    ];

    // Act
    const results = await client.writeMany("contacts", "contact", writes);

    // Assess
    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["ok", "CONCURRENCY", "ok", "ok", "ok", "ok", "ok", "CONCURRENCY"]);
    expect(outer().sort()).toEqual(["POST $batch", "POST $batch", "POST Microsoft.Dynamics.CRM.UpdateMultiple"]);
    const updateTargets = JSON.parse(t.emulator.log.entries().find((e) => e.path.endsWith("UpdateMultiple"))!.body).Targets;
    expect(updateTargets.map((x: Record<string, unknown>) => x.contactid)).toEqual([rows[3].id, rows[4].id, rows[5].id]);
    expect(inner().every((e) => /^W\/"\d+"$/.test(e.headers["if-match"]))).toBe(true);
    expect(t.emulator.row("contact", rows[6].id)).toBeUndefined();
    expect(t.emulator.row("contact", rows[7].id)).toBeDefined();
  });

  it("passes a W/\"…\" version through a single update and delete unchanged", async () => {
    const [row] = seed("single");
    t.emulator.log.clear();

    await client.update("contacts", row.id, { hlf_score: 9 }, { ifMatch: row.etag });
    const stale = await client.delete("contacts", row.id, { ifMatch: row.etag }).catch((e: unknown) => e);
    await client.delete("contacts", row.id, { ifMatch: etagOf(row.id) });

    expect(stale).toMatchObject({ kind: "conflict", code: "CONCURRENCY", status: 412 });
    expect(t.emulator.log.entries().map((e) => [e.method, e.headers["if-match"], e.status])).toEqual([
      ["PATCH", row.etag, 204],
      ["DELETE", row.etag, 412],
      ["DELETE", expect.stringMatching(/^W\/"\d+"$/), 204],
    ]);
  });
});
