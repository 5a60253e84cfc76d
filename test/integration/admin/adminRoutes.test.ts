import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import { TelemetryEvents } from "../../../shared/names.js";
import { CONFLICT_APP_ID, CONFLICT_CONTACT, PENDING_APP_ID, seedOperatorWork, startAdminStack, type AdminStack } from "./adminStack.js";

let a: AdminStack;

beforeAll(async () => {
  a = await startAdminStack();
  await seedOperatorWork(a);
}, 120_000);

afterAll(async () => a?.stop());

const pendingOf = async (appId: string) =>
  ((await a.call("GET", "/api/pending?mapping=mentors")).json.items as any[]).find((i) => i.appId === appId);
const conflictOf = async (appId: string) =>
  ((await a.call("GET", "/api/conflicts?mapping=mentors")).json.items as any[]).find((i) => i.appId === appId);

describe("operator routes over real HTTP (local runner, Azurite, emulators)", () => {
  it.each([
    ["GET", "/api/pending"], ["POST", "/api/pending/mentors/abc/retry"], ["DELETE", "/api/pending/mentors/abc"],
    ["GET", "/api/conflicts"], ["POST", "/api/conflicts/mentors/abc/resolve"], ["GET", "/api/records/mentors/m-0001"],
    ["GET", "/api/export/mentors.csv"], ["GET", "/api/admin/connectivity"],
  ])("refuses %s %s with a wrong or missing key (401)", async (method, path) => {
    const wrong = await a.call(method, path, { key: "not-the-admin-key-at-all" });
    const missing = await a.call(method, path, { key: null });

    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe("UNAUTHORIZED");
    expect(missing.status).toBe(401);
  });

  it("serves the dashboard without a key, and no other file than its own", async () => {
    const page = await a.call("GET", "/api/admin", { key: null });
    const script = await a.call("GET", "/api/admin/admin.js", { key: null });
    const other = await a.call("GET", "/api/admin/..%2Fpackage.json", { key: null });

    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toContain("admin.js");
    expect(script.status).toBe(200);
    expect(other.status).toBe(404);
  });

  it("lists the pending record with its reason and an opaque key", async () => {
    const item = await pendingOf(PENDING_APP_ID);

    expect(item).toMatchObject({ mapping: "mentors", direction: "toDataverse", code: "UNMAPPABLE_VALUE", attempts: 1 });
    expect(item.key).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(item.firstSeenAt).toBe(item.lastSeenAt);
  });

  it("pages the pending list with a continuation token", async () => {
    const first = await a.call("GET", "/api/pending?limit=1");
    const second = await a.call("GET", `/api/pending?limit=1&continuationToken=${encodeURIComponent(first.json.continuationToken)}`);

    expect(first.json.items).toHaveLength(1);
    expect(first.json.continuationToken).toBeTruthy();
    expect(second.json.items[0].key).not.toBe(first.json.items[0].key);
  });

  it.each([
    ["/api/pending?limit=0", 400, "INVALID_REQUEST"],
    ["/api/pending?limit=abc", 400, "INVALID_REQUEST"],
    ["/api/pending?direction=sideways", 400, "INVALID_REQUEST"],
    ["/api/pending?continuationToken=%25%25", 400, "INVALID_REQUEST"],
    ["/api/pending?mapping=nope", 404, "UNKNOWN_MAPPING"],
    ["/api/conflicts?mapping=nope", 404, "UNKNOWN_MAPPING"],
    ["/api/conflicts?limit=501", 400, "INVALID_REQUEST"],
    ["/api/records/nope/m-0001", 404, "UNKNOWN_MAPPING"],
    ["/api/records/mentors/no-such-mentor", 404, "RECORD_NOT_FOUND"],
    ["/api/export/mentors.csv?side=both", 400, "INVALID_REQUEST"],
    ["/api/export/nope.csv", 404, "UNKNOWN_MAPPING"],
    ["/api/export/mentors.json", 404, "NOT_FOUND"],
  ])("answers GET %s with %i %s", async (path, status, code) => {
    const res = await a.call("GET", path);

    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
  });

  it("answers retry and discard of an unknown key with 404, and a key it never gave out with 400", async () => {
    const unknown = Buffer.from("toDataverse|nobody").toString("base64url");

    expect((await a.call("POST", `/api/pending/mentors/${unknown}/retry`)).status).toBe(404);
    expect((await a.call("DELETE", `/api/pending/mentors/${unknown}`)).status).toBe(404);
    expect((await a.call("POST", "/api/pending/mentors/not+base64/retry")).status).toBe(400);
    expect((await a.call("POST", `/api/pending/nope/${unknown}/retry`)).json.error.code).toBe("UNKNOWN_MAPPING");
  });

  it("shows the parked conflict with the base and both sides per field", async () => {
    const c = await conflictOf(CONFLICT_APP_ID);

    expect(c).toMatchObject({ mapping: "mentors", appId: CONFLICT_APP_ID, dataverseId: CONFLICT_CONTACT });
    const score = c.fields.find((f: any) => f.app === "score");
    expect(score).toEqual({ app: "score", dataverse: "hlf_score", base: expect.anything(), appValue: 22, dataverseValue: 11 });
    expect(c.fields.map((f: any) => f.app).sort()).toEqual(["firstName", "score"]);
  });

  it.each([
    ["not json", 400, "INVALID_JSON"],
    [JSON.stringify({ take: "both" }), 400, "INVALID_REQUEST"],
    [JSON.stringify({ take: "app", extra: 1 }), 400, "INVALID_REQUEST"],
    [JSON.stringify({ fields: { score: "app" } }), 400, "INVALID_RESOLUTION"],
    [JSON.stringify({ fields: { score: "app", firstName: "app", email: "app" } }), 400, "INVALID_RESOLUTION"],
  ])("refuses the resolution %s with %i %s and changes nothing", async (raw, status, code) => {
    const c = await conflictOf(CONFLICT_APP_ID);
    const link = await a.services.state.getLinkByApp("mentors", CONFLICT_APP_ID);

    const res = await a.call("POST", `/api/conflicts/mentors/${c.key}/resolve`, { raw });

    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(await conflictOf(CONFLICT_APP_ID)).toEqual(c);
    expect((await a.services.state.getLinkByApp("mentors", CONFLICT_APP_ID))?.base).toEqual(link?.base);
  });

  it("answers the resolution of an unknown conflict with 404", async () => {
    const res = await a.call("POST", `/api/conflicts/mentors/${Buffer.from("m-9999").toString("base64url")}/resolve`, { body: { take: "app" } });

    expect(res.status).toBe(404);
  });

  it("reports a synced record's status, not stale", async () => {
    const res = await a.call("GET", "/api/records/mentors/m-0003");

    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ mapping: "mentors", appId: "m-0003", pending: null, stale: false, staleAfterHours: 26 });
    expect(Date.parse(res.json.lastSyncedAt)).toBeGreaterThan(0);
  });

  it("reports a pending record with its pending entry", async () => {
    const res = await a.call("GET", `/api/records/mentors/${PENDING_APP_ID}`);

    expect(res.status).toBe(200);
    expect(res.json.pending).toMatchObject({ code: "UNMAPPABLE_VALUE", direction: "toDataverse" });
  });

  it("exports the Dataverse side as import-ready CSV: BOM, logical names, choice labels, ISO dates", async () => {
    const res = await a.call("GET", "/api/export/mentors.csv");

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect([...res.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(res.text, { bom: true, columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0])).toEqual(["contactid", "hlf_mentorid", "firstname", "lastname", "emailaddress1", "hlf_certificationstatus", "hlf_certifieduntil", "hlf_score", "hlf_hourlyrate", "hlf_ispublic", "hlf_groupid", "hlf_lastcontacton"]);
    const ingrid = rows.find((r) => r.contactid === CONFLICT_CONTACT)!;
    // Dataverse's labels (demo-schema.json), as the Import Data wizard matches them.
    expect(["Active", "Expired", "Pending"]).toContain(ingrid.hlf_certificationstatus);
    expect(rows.find((r) => r.hlf_mentorid === "m-0001")!.hlf_certificationstatus).toBe("Active");
    expect(ingrid.hlf_certifieduntil).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("exports the app side with the app's field names", async () => {
    const res = await a.call("GET", "/api/export/mentors.csv?side=app");
    const rows = parse(res.text, { bom: true, columns: true }) as Record<string, string>[];

    expect(Object.keys(rows[0])[0]).toBe("id");
    expect(rows.find((r) => r.id === PENDING_APP_ID)?.certificationStatus).toBe("revoked");
  });

  it("reports connectivity to the token endpoint, Dataverse and the app", async () => {
    const res = await a.call("GET", "/api/admin/connectivity");

    expect(res.json).toMatchObject({ token: { ok: true }, dataverse: { ok: true }, app: { ok: true } });
  });

  it("resolves the conflict per field: both systems end with the chosen values", async () => {
    const c = await conflictOf(CONFLICT_APP_ID);

    const res = await a.call("POST", `/api/conflicts/mentors/${c.key}/resolve`, { body: { fields: { score: "dataverse", firstName: "app" } } });
    await a.runner.idle();

    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: "queued" });
    expect(a.stack.app.get("mentor", CONFLICT_APP_ID)!.data).toMatchObject({ score: 11, firstName: "Ingrid-App" });
    expect(a.stack.dataverse.row("contact", CONFLICT_CONTACT)).toMatchObject({ hlf_score: 11, firstname: "Ingrid-App" });
    expect(await conflictOf(CONFLICT_APP_ID)).toBeUndefined();
    expect((await a.call("GET", `/api/pending?mapping=mentors`)).json.items.some((i: any) => i.appId === CONFLICT_APP_ID)).toBe(false);
  });

  it("retries a pending record now: once its value is fixed it syncs and leaves the list", async () => {
    const item = await pendingOf(PENDING_APP_ID);
    a.stack.app.patch("mentor", PENDING_APP_ID, { certificationStatus: "expired" });

    const res = await a.call("POST", `/api/pending/mentors/${item.key}/retry`);
    await a.runner.idle();

    expect(res.status).toBe(202);
    expect(await pendingOf(PENDING_APP_ID)).toBeUndefined();
    const row = a.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === PENDING_APP_ID)!;
    expect(row.hlf_certificationstatus).toBe(100000001);
  });

  it("discards a pending record with an audit entry, and then no longer finds it", async () => {
    a.stack.app.patch("mentor", "m-0003", { certificationStatus: "unknown-status" });
    await a.sync();
    const item = await pendingOf("m-0003");

    const res = await a.call("DELETE", `/api/pending/mentors/${item.key}`);

    expect(res.status).toBe(204);
    expect(await pendingOf("m-0003")).toBeUndefined();
    expect(a.telemetry.events.filter((e) => e.name === TelemetryEvents.pendingDiscarded).map((e) => e.properties))
      .toContainEqual(expect.objectContaining({ mapping: "mentors", recordId: "m-0003", code: "UNMAPPABLE_VALUE" }));
    expect((await a.call("DELETE", `/api/pending/mentors/${item.key}`)).status).toBe(404);
  });
});
