/**
 * What only the sample app does (its ids, its request log, scripted faults, app-side edits). The
 * App Sync API behaviour it shares with the example server is in appSyncContract.test.ts.
 */
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

  it("logs a request with a wrong key without the key", async () => {
    const res = await call(app.baseUrl, "wrong", "GET", "/sync/mentor/m-0001");
    expect(res.status).toBe(401);
    expect(app.requests.at(-1)).toMatchObject({ method: "GET", path: "/sync/mentor/m-0001", status: 401 });
    expect(JSON.stringify(app.requests)).not.toContain("wrong");
  });

  it("puts an app-side edit into the change feed", async () => {
    // Prepare
    const start = await api("GET", "/sync/mentor/changes?limit=1000");
    clock += 60_000;
    // Act
    app.patch("mentor", "m-0002", { score: 70 });
    // Assess
    const res = await api("GET", `/sync/mentor/changes?cursor=${start.body.nextCursor}`);
    expect(res.body.records).toEqual([expect.objectContaining({ id: "m-0002", updatedAt: "2026-02-01T10:01:00.000Z", data: expect.objectContaining({ score: 70 }) })]);
  });

  it("assigns the next mentor id on POST and keeps the dataverseId", async () => {
    const res = await api("POST", "/sync/mentor", { data: { firstName: "Emil", certificationStatus: "active", isPublic: true, active: true }, dataverseId: DV_ID });
    expect(res.body.id).toBe("m-0009");
    expect(app.get("mentor", "m-0009")).toMatchObject({ dataverseId: DV_ID, data: { firstName: "Emil" } });
  });

  it("assigns one above the highest id taken since the last POST, records put directly and deleted ones included", async () => {
    const first = await api("POST", "/sync/mentor", { data: { firstName: "Emil", certificationStatus: "active", isPublic: true, active: true } });
    app.put("mentor", "m-0040", { firstName: "Put", certificationStatus: "active", isPublic: true, active: true });
    await api("DELETE", "/sync/mentor/m-0040");
    const second = await api("POST", "/sync/mentor", { data: { firstName: "Frida", certificationStatus: "active", isPublic: true, active: true } });
    expect([first.body.id, second.body.id]).toEqual(["m-0009", "m-0041"]);
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

  it("decodes URL-encoded entity names", async () => {
    app.put("odd entity", "a/b c", { v: 1 });
    const res = await api("GET", `/sync/${encodeURIComponent("odd entity")}/${encodeURIComponent("a/b c")}`);
    expect(res.body).toMatchObject({ id: "a/b c", data: { v: 1 } });
  });

  it("logs paths after the base path", async () => {
    const prefixed = await startSampleApp({ apiKey: KEY, basePath: "/v1/", seed: true });
    try {
      await call(prefixed.baseUrl, KEY, "GET", "/sync/group/g-north");
      expect(prefixed.requests[0].path).toBe("/sync/group/g-north");
    } finally {
      await prefixed.stop();
    }
  });

  describe("faults", () => {
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
