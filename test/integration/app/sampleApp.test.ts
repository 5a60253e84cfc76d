import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSampleApp, type SampleApp } from "../../emulators/app/index.js";
import { call } from "./appHttp.js";

const KEY = "app-key-123";
const DV_ID = "5f0c1e2a-0000-4000-8000-00000000abcd";

describe("sample app (App Sync API)", () => {
  let app: SampleApp;
  let clock: number;
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(app.baseUrl, KEY, method, path, body, headers);

  beforeEach(async () => {
    clock = Date.parse("2026-02-01T10:00:00Z");
    app = await startSampleApp({ apiKey: KEY, seed: true, now: () => clock });
  });
  afterEach(async () => {
    await app.stop();
  });

  describe("authentication", () => {
    it("answers 401 with a Bearer challenge when the key is missing", async () => {
      const res = await call(app.baseUrl, undefined, "GET", "/sync/mentor/m-0001");
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    });

    it("answers 401 to a wrong key and logs the request without the key", async () => {
      const res = await call(app.baseUrl, "wrong", "GET", "/sync/mentor/m-0001");
      expect(res.status).toBe(401);
      expect(app.requests.at(-1)).toMatchObject({ method: "GET", path: "/sync/mentor/m-0001", status: 401 });
      expect(JSON.stringify(app.requests)).not.toContain("wrong");
    });
  });

  describe("change feed", () => {
    it("returns every seeded record from the beginning when no cursor is given", async () => {
      const res = await api("GET", "/sync/mentor/changes");
      expect(res.status).toBe(200);
      expect(res.body.records.map((r: { id: string }) => r.id)).toEqual(["m-0001", "m-0002", "m-0003", "m-0004", "m-0005", "m-0006", "m-0007", "m-0008"]);
      expect(res.body.hasMore).toBe(false);
      expect(res.body.records[0]).toMatchObject({ deleted: false, data: { firstName: "Ingrid", certificationStatus: "active", groupId: "g-north" } });
      expect(res.body.records[0].data).not.toHaveProperty("id");
    });

    it("pages with limit and continues from the opaque cursor without repeating records", async () => {
      // Act
      const first = await api("GET", "/sync/mentor/changes?limit=5");
      const second = await api("GET", `/sync/mentor/changes?limit=5&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      // Assess
      expect(first.body.records).toHaveLength(5);
      expect(first.body.hasMore).toBe(true);
      expect(second.body.records.map((r: { id: string }) => r.id)).toEqual(["m-0006", "m-0007", "m-0008"]);
      expect(second.body.hasMore).toBe(false);
    });

    it("moves an edited record to the end of the feed and shows deletes as tombstones", async () => {
      // Prepare
      const start = await api("GET", "/sync/mentor/changes?limit=1000");
      clock += 60_000;
      app.patch("mentor", "m-0002", { score: 70 });
      await api("DELETE", "/sync/mentor/m-0003");
      // Act
      const res = await api("GET", `/sync/mentor/changes?cursor=${start.body.nextCursor}`);
      // Assess
      expect(res.body.records).toEqual([
        expect.objectContaining({ id: "m-0002", deleted: false, updatedAt: "2026-02-01T10:01:00.000Z", data: expect.objectContaining({ score: 70 }) }),
        expect.objectContaining({ id: "m-0003", deleted: true, data: null }),
      ]);
      expect(res.body.nextCursor).not.toBe(start.body.nextCursor);
    });

    it("returns an empty page with the same cursor when nothing changed", async () => {
      const start = await api("GET", "/sync/group/changes");
      const res = await api("GET", `/sync/group/changes?cursor=${start.body.nextCursor}`);
      expect(res.body).toEqual({ records: [], nextCursor: start.body.nextCursor, hasMore: false });
    });

    it.each(["0", "1001", "abc", "2.5"])("rejects limit=%s with 400", async (limit) => {
      const res = await api("GET", `/sync/mentor/changes?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("BAD_REQUEST");
    });

    it("rejects a cursor it did not issue with 400", async () => {
      const res = await api("GET", "/sync/mentor/changes?cursor=not-a-cursor");
      expect(res.status).toBe(400);
    });
  });

  describe("reads and writes", () => {
    it("answers 404 to GET of a deleted record", async () => {
      await api("DELETE", "/sync/mentor/m-0004");
      const res = await api("GET", "/sync/mentor/m-0004");
      expect(res.status).toBe(404);
      expect(app.get("mentor", "m-0004")).toMatchObject({ deleted: true, data: null });
    });

    it("assigns the next mentor id on POST and returns 201 with a version", async () => {
      const res = await api("POST", "/sync/mentor", { data: { firstName: "Emil", lastName: "Dahl", certificationStatus: "active", isPublic: true, active: true }, dataverseId: DV_ID });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: "m-0009", version: expect.any(String), updatedAt: "2026-02-01T10:00:00.000Z" });
      expect(res.headers.get("etag")).toBe(`"${res.body.version}"`);
      expect(app.get("mentor", "m-0009")).toMatchObject({ dataverseId: DV_ID, data: { firstName: "Emil" } });
    });

    it("returns the existing record with 200 when a POST is retried with the same dataverseId", async () => {
      // Prepare
      const first = await api("POST", "/sync/mentor", { data: { firstName: "Emil" }, dataverseId: DV_ID });
      // Act
      const retry = await api("POST", "/sync/mentor", { data: { firstName: "Emil" }, dataverseId: DV_ID });
      // Assess
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect(app.list("mentor")).toHaveLength(9);
    });

    it("derives a group id from its name and keeps it unique", async () => {
      const a = await api("POST", "/sync/group", { data: { name: "Vest Øst", region: "Vestland" } });
      const b = await api("POST", "/sync/group", { data: { name: "Vest Øst" } });
      expect([a.body.id, b.body.id]).toEqual(["g-vest-ost", "g-vest-ost-2"]);
    });

    it("assigns generic ids to entities outside the demo domain without validating fields", async () => {
      const res = await api("POST", "/sync/asset", { data: { anything: [1, 2] } });
      expect(res.status).toBe(201);
      expect(res.body.id).toBe("asset-0001");
    });

    it("rejects a choice outside the allowed values with 422 VALIDATION", async () => {
      const res = await api("POST", "/sync/mentor", { data: { certificationStatus: "suspended" } });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ error: { code: "VALIDATION", message: "certificationStatus must be one of active, expired, pending" } });
    });

    it.each([
      [{ score: 1.5 }, "score must be an integer"],
      [{ certifiedUntil: "2026-02-30" }, "certifiedUntil must be a date (YYYY-MM-DD)"],
      [{ groupId: "g-nowhere" }, "groupId refers to group g-nowhere, which does not exist"],
      [{ isPublic: null }, "isPublic must not be null"],
      [{ id: "m-9999" }, "id must not be inside data"],
      [{ nickname: "x" }, "nickname is not a field of mentor"],
    ])("rejects PATCH data %j with 422", async (data, message) => {
      const res = await api("PATCH", "/sync/mentor/m-0001", { data });
      expect(res.status).toBe(422);
      expect(res.body.error.message).toBe(message);
    });

    it("answers malformed JSON with 400", async () => {
      const res = await api("POST", "/sync/mentor", "{not json");
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("BAD_REQUEST");
    });

    it("merges only the given fields on PATCH and bumps the version", async () => {
      // Prepare
      const before = app.get("mentor", "m-0001")!;
      // Act
      const res = await api("PATCH", "/sync/mentor/m-0001", { data: { score: 99 }, dataverseId: DV_ID });
      // Assess
      expect(res.status).toBe(200);
      expect(res.body.version).not.toBe(before.version);
      expect(app.get("mentor", "m-0001")).toMatchObject({ dataverseId: DV_ID, data: { ...before.data, score: 99 } });
    });

    it("answers 412 when If-Match carries a stale version and 200 when it is current", async () => {
      // Prepare
      const current = (await api("GET", "/sync/mentor/m-0001")).body.version;
      app.patch("mentor", "m-0001", { score: 1 });
      const fresh = app.get("mentor", "m-0001")!.version;
      // Act
      const stale = await api("PATCH", "/sync/mentor/m-0001", { data: { score: 2 } }, { "if-match": `"${current}"` });
      const ok = await api("PATCH", "/sync/mentor/m-0001", { data: { score: 3 } }, { "if-match": `"${fresh}"` });
      // Assess
      expect(stale.status).toBe(412);
      expect(ok.status).toBe(200);
      expect(app.get("mentor", "m-0001")!.data!.score).toBe(3);
    });

    it("answers 404 to PATCH and DELETE of a missing record", async () => {
      expect((await api("PATCH", "/sync/mentor/m-7777", { data: { score: 1 } })).status).toBe(404);
      expect((await api("DELETE", "/sync/mentor/m-7777")).status).toBe(404);
    });

    it("decodes URL-encoded entity names and ids", async () => {
      app.put("odd entity", "a/b c", { v: 1 });
      const res = await api("GET", `/sync/${encodeURIComponent("odd entity")}/${encodeURIComponent("a/b c")}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: "a/b c", data: { v: 1 } });
    });
  });

  describe("base path and faults", () => {
    it("serves under a path prefix and 404s outside it", async () => {
      // Prepare
      const prefixed = await startSampleApp({ apiKey: KEY, basePath: "/v1/", seed: true });
      try {
        // Act
        const inside = await call(prefixed.baseUrl, KEY, "GET", "/sync/group/g-north");
        const outside = await call(prefixed.baseUrl.replace("/v1", ""), KEY, "GET", "/sync/group/g-north");
        // Assess
        expect(prefixed.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
        expect(inside.status).toBe(200);
        expect(outside.status).toBe(404);
        expect(prefixed.requests[0].path).toBe("/sync/group/g-north");
      } finally {
        await prefixed.stop();
      }
    });

    it("fails the next matching requests with the scripted status, then recovers", async () => {
      // Prepare
      app.failNext({ method: "GET", path: "/sync/mentor/", status: 503, count: 2, headers: { "retry-after": "1" } });
      // Act
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await api("GET", "/sync/mentor/m-0001")).status);
      // Assess
      expect(statuses).toEqual([503, 503, 200]);
    });

    it("applies a write whose answer is lost, so the retried POST finds it by dataverseId", async () => {
      // Prepare
      app.failNext({ method: "POST", afterHandling: true, dropConnection: true });
      // Act
      const lost = api("POST", "/sync/mentor", { data: { firstName: "Lost" }, dataverseId: DV_ID });
      await expect(lost).rejects.toThrow();
      const retry = await api("POST", "/sync/mentor", { data: { firstName: "Lost" }, dataverseId: DV_ID });
      // Assess
      expect(retry.status).toBe(200);
      expect(app.list("mentor").filter((r) => r.data!.firstName === "Lost")).toHaveLength(1);
    });

    it("records method, path and parsed body of each request", async () => {
      await api("PATCH", "/sync/mentor/m-0002", { data: { score: 5 } });
      expect(app.requests.at(-1)).toMatchObject({ method: "PATCH", path: "/sync/mentor/m-0002", body: { data: { score: 5 } }, status: 200 });
    });
  });
});
