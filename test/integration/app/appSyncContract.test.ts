/**
 * The App Sync API behaviour of product.md, run against every server in appSyncTargets.ts: the
 * sample app and the example a team copies must answer alike.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call } from "./appHttp.js";
import { appSyncTargets, contractSeed, type RunningTarget } from "./appSyncTargets.js";

const KEY = "app-key-123";
const DV_ID = "5f0c1e2a-0000-4000-8000-00000000abcd";
const NEW_MENTOR = { firstName: "Emil", lastName: "Dahl", certificationStatus: "active", isPublic: true, active: true };
const ids = (body: { records: { id: string }[] }) => body.records.map((r) => r.id);

describe.each(appSyncTargets)("App Sync API contract: $name", (target) => {
  let server: RunningTarget;
  let clock: number;
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(server.baseUrl, KEY, method, path, body, headers);

  beforeEach(async () => {
    clock = Date.parse("2026-02-01T10:00:00Z");
    server = await target.start({ apiKey: KEY, seed: contractSeed, now: () => clock });
  });
  afterEach(async () => {
    await server.stop();
  });

  describe("authentication", () => {
    it("answers 401 with a Bearer challenge when the key is missing", async () => {
      const res = await call(server.baseUrl, undefined, "GET", "/sync/mentor/m-0001");
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
    });

    it("answers 401 to a wrong key, even before it looks at a malformed body", async () => {
      const res = await call(server.baseUrl, "wrong", "POST", "/sync/mentor", "{not json");
      expect(res.status).toBe(401);
    });
  });

  describe("change feed", () => {
    it("returns every seeded record from the beginning when no cursor is given", async () => {
      const res = await api("GET", "/sync/mentor/changes");
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual(["m-0001", "m-0002", "m-0003", "m-0004", "m-0005", "m-0006", "m-0007", "m-0008"]);
      expect(res.body.hasMore).toBe(false);
      expect(res.body.records[0]).toEqual({
        id: "m-0001", version: expect.any(String), updatedAt: "2026-01-05T08:00:00.000Z", deleted: false,
        data: expect.objectContaining({ firstName: "Ingrid", certificationStatus: "active", groupId: "g-north", hourlyRate: 350.5 }),
      });
      expect(res.body.records[0].data).not.toHaveProperty("id");
    });

    it("pages with limit and continues from the opaque cursor without repeating records", async () => {
      // Act
      const first = await api("GET", "/sync/mentor/changes?limit=5");
      const second = await api("GET", `/sync/mentor/changes?limit=5&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      // Assess
      expect(ids(first.body)).toEqual(["m-0001", "m-0002", "m-0003", "m-0004", "m-0005"]);
      expect(first.body.hasMore).toBe(true);
      expect(ids(second.body)).toEqual(["m-0006", "m-0007", "m-0008"]);
      expect(second.body.hasMore).toBe(false);
    });

    it("moves an edited record to the end of the feed and shows deletes as tombstones", async () => {
      // Prepare
      const start = await api("GET", "/sync/mentor/changes?limit=1000");
      clock += 60_000;
      await api("PATCH", "/sync/mentor/m-0002", { data: { score: 70 } });
      await api("DELETE", "/sync/mentor/m-0003");
      // Act
      const res = await api("GET", `/sync/mentor/changes?cursor=${encodeURIComponent(start.body.nextCursor)}`);
      // Assess
      expect(res.body.records).toEqual([
        expect.objectContaining({ id: "m-0002", deleted: false, updatedAt: "2026-02-01T10:01:00.000Z", data: expect.objectContaining({ score: 70, firstName: "Ole" }) }),
        expect.objectContaining({ id: "m-0003", deleted: true, data: null }),
      ]);
      expect(res.body.nextCursor).not.toBe(start.body.nextCursor);
    });

    it("returns an empty page with the same cursor when nothing changed", async () => {
      const start = await api("GET", "/sync/group/changes");
      const res = await api("GET", `/sync/group/changes?cursor=${encodeURIComponent(start.body.nextCursor)}`);
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
      expect((await api("DELETE", "/sync/mentor/m-0004")).status).toBe(204);
      const res = await api("GET", "/sync/mentor/m-0004");
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("NOT_FOUND");
    });

    it("assigns an id on POST and returns 201 with a version, an ETag and the record's data on GET", async () => {
      const res = await api("POST", "/sync/mentor", { data: NEW_MENTOR, dataverseId: DV_ID });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.any(String), version: expect.any(String), updatedAt: "2026-02-01T10:00:00.000Z" });
      expect(res.headers.get("etag")).toBe(`"${res.body.version}"`);
      const read = await api("GET", `/sync/mentor/${encodeURIComponent(res.body.id)}`);
      expect(read.body).toEqual({ id: res.body.id, version: res.body.version, updatedAt: res.body.updatedAt, deleted: false, data: NEW_MENTOR });
    });

    it("returns the existing record with 200 when a POST is retried with the same dataverseId", async () => {
      // Prepare
      const first = await api("POST", "/sync/mentor", { data: NEW_MENTOR, dataverseId: DV_ID });
      // Act
      const retry = await api("POST", "/sync/mentor", { data: NEW_MENTOR, dataverseId: DV_ID });
      // Assess
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      const feed = await api("GET", "/sync/mentor/changes");
      expect(feed.body.records).toHaveLength(contractSeed.mentor.length + 1);
      expect(ids(feed.body).filter((id) => id === first.body.id)).toHaveLength(1);
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
    ])("rejects PATCH data %j with 422 and leaves the record as it was", async (data, message) => {
      const before = await api("GET", "/sync/mentor/m-0001");
      const res = await api("PATCH", "/sync/mentor/m-0001", { data });
      expect(res.status).toBe(422);
      expect(res.body.error.message).toBe(message);
      expect((await api("GET", "/sync/mentor/m-0001")).body).toEqual(before.body);
    });

    it("answers malformed JSON and a body without a data object with 400", async () => {
      for (const body of ["{not json", { notData: {} }]) {
        const res = await api("POST", "/sync/mentor", body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("BAD_REQUEST");
      }
    });

    it("merges only the given fields on PATCH and bumps the version", async () => {
      // Prepare
      const before = (await api("GET", "/sync/mentor/m-0001")).body;
      // Act
      const res = await api("PATCH", "/sync/mentor/m-0001", { data: { score: 99 }, dataverseId: DV_ID });
      // Assess
      expect(res.status).toBe(200);
      expect(res.body.version).not.toBe(before.version);
      expect((await api("GET", "/sync/mentor/m-0001")).body.data).toEqual({ ...before.data, score: 99 });
    });

    it("keeps the version and the feed position when a PATCH changes nothing", async () => {
      // Prepare
      const before = (await api("GET", "/sync/mentor/m-0001")).body;
      const start = await api("GET", "/sync/mentor/changes");
      // Act
      const res = await api("PATCH", "/sync/mentor/m-0001", { data: { score: before.data.score } });
      // Assess
      expect(res.body.version).toBe(before.version);
      expect((await api("GET", `/sync/mentor/changes?cursor=${encodeURIComponent(start.body.nextCursor)}`)).body.records).toEqual([]);
    });

    it("answers 412 when If-Match carries a stale version and 200 when it is current", async () => {
      // Prepare
      const current = (await api("GET", "/sync/mentor/m-0001")).body.version;
      const fresh = (await api("PATCH", "/sync/mentor/m-0001", { data: { score: 1 } })).body.version;
      // Act
      const stale = await api("PATCH", "/sync/mentor/m-0001", { data: { score: 2 } }, { "if-match": `"${current}"` });
      const staleDelete = await api("DELETE", "/sync/mentor/m-0001", undefined, { "if-match": `"${current}"` });
      const ok = await api("PATCH", "/sync/mentor/m-0001", { data: { score: 3 } }, { "if-match": `"${fresh}"` });
      // Assess
      expect([stale.status, staleDelete.status, ok.status]).toEqual([412, 412, 200]);
      expect(stale.body.error.code).toBe("VERSION_MISMATCH");
      expect((await api("GET", "/sync/mentor/m-0001")).body.data.score).toBe(3);
    });

    it("answers 404 to PATCH and DELETE of a missing record", async () => {
      expect((await api("PATCH", "/sync/mentor/m-7777", { data: { score: 1 } })).status).toBe(404);
      expect((await api("DELETE", "/sync/mentor/m-7777")).status).toBe(404);
    });

    it("decodes URL-encoded ids", async () => {
      const res = await api("GET", `/sync/group/${encodeURIComponent("a/b c")}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: "a/b c", data: { name: "Slash" } });
    });
  });

  describe("base path", () => {
    it("serves under a path prefix and 404s outside it", async () => {
      // Prepare
      const prefixed = await target.start({ apiKey: KEY, basePath: "/v1/", seed: contractSeed });
      try {
        // Act
        const inside = await call(prefixed.baseUrl, KEY, "GET", "/sync/group/g-north");
        const outside = await call(prefixed.baseUrl.replace("/v1", ""), KEY, "GET", "/sync/group/g-north");
        // Assess
        expect(prefixed.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
        expect(inside.status).toBe(200);
        expect(outside.status).toBe(404);
      } finally {
        await prefixed.stop();
      }
    });
  });
});
