import { describe, expect, it } from "vitest";
import { listRunsApi, manualSyncApi, runStatusApi } from "../../../shared/api/syncApi.js";
import { ADMIN_KEY, BASE, adminFixture, adminRequest } from "./adminFixtures.js";

const sync = (body?: string, key?: string | null, query?: string) => adminRequest("POST", "sync", { body, key, query });
const body = (r: { jsonBody?: unknown }) => r.jsonBody as Record<string, any>;

describe("POST /api/sync", () => {
  it("starts one run per mapping, parents first, and answers 202 with each run's id and status URL", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mode: "full" })), f.services);

    expect(res.status).toBe(202);
    const runs = body(res).runs as { mapping: string; runId: string; statusUrl: string }[];
    expect(runs).toEqual(["groups", "mentors"].map((mapping) => ({ mapping, runId: expect.any(String), statusUrl: expect.any(String) })));
    for (const r of runs) expect(r.statusUrl).toBe(`${BASE}/api/sync/runs/${r.runId}`);
    expect(await f.runs.approximateCount()).toBe(2);
    const stored = await f.state.getRun(runs[1].runId);
    expect(stored).toMatchObject({ mapping: "mentors", mode: "full", trigger: "manual", dryRun: false, status: "queued" });
  });

  it("does not let one mapping's run stand for the others: several runs get a request id of their own", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mode: "delta" })), f.services);

    const runs = body(res).runs as { runId: string }[];
    expect(body(res).runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(runs.map((r) => r.runId)).not.toContain(body(res).runId);
    expect(await f.state.getRun(body(res).runId)).toBeNull();
    expect(body(res)).not.toHaveProperty("statusUrl");
    expect(res.headers?.location).toBeUndefined();
  });

  it("runs only the named mapping, as a dry run when asked, and names that run at the top level", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mapping: "mentors", mode: "delta", dryRun: true })), f.services);

    expect(res.status).toBe(202);
    const [run] = body(res).runs as { mapping: string; runId: string; statusUrl: string }[];
    expect(body(res)).toEqual({ runId: run.runId, statusUrl: run.statusUrl, runs: [{ mapping: "mentors", runId: run.runId, statusUrl: `${BASE}/api/sync/runs/${run.runId}` }] });
    expect(res.headers?.location).toBe(run.statusUrl);
    expect(await f.state.getRun(body(res).runId)).toMatchObject({ mapping: "mentors", mode: "delta", dryRun: true });
  });

  it("accepts the key as ?code= and an empty body as a delta run of everything", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(undefined, null, `code=${ADMIN_KEY}`), f.services);

    expect(res.status).toBe(202);
    expect(await f.state.getRun(body(res).runs[0].runId)).toMatchObject({ mode: "delta", dryRun: false });
  });

  it.each([
    ["no key", null],
    ["a wrong key", "not-the-key"],
    ["the key with a different case", ADMIN_KEY.toUpperCase()],
  ])("returns 401 and enqueues nothing with %s", async (_label, key) => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mode: "delta" }), key), f.services);

    expect(res.status).toBe(401);
    expect(body(res).error.code).toBe("UNAUTHORIZED");
    expect(JSON.stringify(res.jsonBody)).not.toContain(ADMIN_KEY);
    expect(await f.runs.approximateCount()).toBe(0);
  });

  it("returns 400 INVALID_JSON for a body that is not JSON, and enqueues nothing", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync("{mode: full"), f.services);

    expect(res.status).toBe(400);
    expect(body(res).error.code).toBe("INVALID_JSON");
    expect(await f.runs.approximateCount()).toBe(0);
  });

  it.each([
    [{ mode: "sometimes" }, "mode"],
    [{ mode: "delta", dryRun: "yes" }, "dryRun"],
    [{ mode: "delta", mapping: 42 }, "mapping"],
    [{ mode: "delta", mapping: "" }, "mapping"],
    [{ mode: "delta", force: true }, "force"],
  ])("returns 400 naming the field for %j, and enqueues nothing", async (input, field) => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify(input)), f.services);

    expect(res.status).toBe(400);
    expect(body(res).error.code).toBe("INVALID_REQUEST");
    expect(body(res).error.message).toContain(field);
    expect(await f.runs.approximateCount()).toBe(0);
  });

  it("returns 400 for a JSON body that is not an object", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync("[1,2]"), f.services);

    expect(res.status).toBe(400);
    expect(await f.runs.approximateCount()).toBe(0);
  });

  it("returns 404 listing the known mappings for an unknown one, and enqueues nothing", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mapping: "mentorz", mode: "delta" })), f.services);

    expect(res.status).toBe(404);
    expect(body(res).error).toMatchObject({ code: "UNKNOWN_MAPPING", known: ["groups", "mentors"] });
    expect(body(res).error.message).toContain("groups, mentors");
    expect(await f.runs.approximateCount()).toBe(0);
  });

  it("returns 413 for an oversized body, and enqueues nothing", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mode: "delta", pad: "x".repeat(20_000) })), f.services);

    expect(res.status).toBe(413);
    expect(await f.runs.approximateCount()).toBe(0);
  });

  it("returns 503 without internals when the runs cannot be stored", async () => {
    const f = adminFixture();
    f.state.createRun = async () => { throw new Error("ECONNREFUSED 127.0.0.1:10002"); };

    const res = await manualSyncApi(sync(JSON.stringify({ mode: "delta" })), f.services);

    expect(res.status).toBe(503);
    expect(JSON.stringify(res.jsonBody)).not.toContain("ECONNREFUSED");
    expect(f.logs.some((l) => l.level === "error" && String(l.props?.error).includes("ECONNREFUSED"))).toBe(true);
  });
});

describe("GET /api/sync/runs/{runId}", () => {
  it("returns the run's status, counts and notes without storage internals", async () => {
    const f = adminFixture();
    const [run] = await f.services.engine.startRuns({ mapping: "groups", mode: "delta", dryRun: false, trigger: "manual" });
    await f.state.updateRun(run.runId, (r) => ({ ...r, status: "succeeded", notes: ["re-read everything"], toApp: { ...r.toApp, created: 3 } }));

    const res = await runStatusApi(adminRequest("GET", `sync/runs/${run.runId}`, { params: { runId: run.runId } }), f.services);

    expect(res.status).toBe(200);
    expect(body(res)).toMatchObject({ runId: run.runId, mapping: "groups", status: "succeeded", notes: ["re-read everything"], toApp: { created: 3 } });
    expect(body(res)).not.toHaveProperty("etag");
  });

  it("returns 404 for an unknown run", async () => {
    const f = adminFixture();
    const id = "0b6f3a52-8d5e-4c1e-9f0a-2b7c1d9e4f11";

    const res = await runStatusApi(adminRequest("GET", `sync/runs/${id}`, { params: { runId: id } }), f.services);

    expect(res.status).toBe(404);
    expect(body(res).error.code).toBe("RUN_NOT_FOUND");
  });

  it("returns 400 for a run id that is not a GUID", async () => {
    const f = adminFixture();

    const res = await runStatusApi(adminRequest("GET", "sync/runs/x", { params: { runId: "../../etc" } }), f.services);

    expect(res.status).toBe(400);
  });

  it("returns 401 without the key, before looking the run up", async () => {
    const f = adminFixture();
    const [run] = await f.services.engine.startRuns({ mode: "delta", dryRun: false, trigger: "manual" });

    const res = await runStatusApi(adminRequest("GET", `sync/runs/${run.runId}`, { key: null, params: { runId: run.runId } }), f.services);

    expect(res.status).toBe(401);
    expect(JSON.stringify(res.jsonBody)).not.toContain(run.runId);
  });
});

describe("GET /api/sync/runs", () => {
  it("lists the newest runs first, filtered by mapping and limited", async () => {
    const f = adminFixture();
    for (let i = 0; i < 3; i++) {
      await f.services.engine.startRuns({ mode: "delta", dryRun: false, trigger: "manual" });
      f.clock.advance(60_000);
    }

    const all = await listRunsApi(adminRequest("GET", "sync/runs"), f.services);
    const mentors = await listRunsApi(adminRequest("GET", "sync/runs", { query: "mapping=mentors&limit=2" }), f.services);

    expect(all.status).toBe(200);
    expect(body(all).runs).toHaveLength(6);
    const starts = (body(all).runs as { startedAt: string }[]).map((r) => r.startedAt);
    expect(starts).toEqual([...starts].sort().reverse());
    expect((body(mentors).runs as { mapping: string }[]).map((r) => r.mapping)).toEqual(["mentors", "mentors"]);
  });

  it.each(["0", "101", "ten", "1.5"])("returns 400 for limit=%s", async (limit) => {
    const f = adminFixture();

    const res = await listRunsApi(adminRequest("GET", "sync/runs", { query: `limit=${limit}` }), f.services);

    expect(res.status).toBe(400);
    expect(body(res).error.message).toContain("limit");
  });

  it("returns 404 for an unknown mapping and 401 without the key", async () => {
    const f = adminFixture();

    const unknown = await listRunsApi(adminRequest("GET", "sync/runs", { query: "mapping=nope" }), f.services);
    const noKey = await listRunsApi(adminRequest("GET", "sync/runs", { key: null }), f.services);

    expect(unknown.status).toBe(404);
    expect(noKey.status).toBe(401);
  });
});
