import { describe, expect, it } from "vitest";
import { manualSyncApi, runStatusApi } from "../../../shared/api/syncApi.js";
import { adminFixture, adminRequest } from "./adminFixtures.js";

const sync = (body?: string) => adminRequest("POST", "sync", { body });
const body = (r: { jsonBody?: unknown }) => r.jsonBody as Record<string, any>;

describe("POST /api/sync with mode reconcile", () => {
  it("starts reconcile runs: the run rows and their run messages carry the mode", async () => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mode: "reconcile" })), f.services);

    expect(res.status).toBe(202);
    const runs = body(res).runs as { mapping: string; runId: string }[];
    expect(runs.map((r) => r.mapping)).toEqual(["groups", "mentors"]);
    for (const r of runs) expect(await f.state.getRun(r.runId)).toMatchObject({ mode: "reconcile", trigger: "manual", status: "queued" });
    const messages = await f.runs.receive(10, 60_000);
    expect(messages.map((m) => m.body.mode)).toEqual(["reconcile", "reconcile"]);
  });

  it.each([["Reconcile"], ["reconciliation"], [""], [true]])("still returns 400 naming mode and the allowed modes for %j, and enqueues nothing", async (mode) => {
    const f = adminFixture();

    const res = await manualSyncApi(sync(JSON.stringify({ mode })), f.services);

    expect(res.status).toBe(400);
    expect(body(res).error.code).toBe("INVALID_REQUEST");
    expect(body(res).error.message).toContain("mode");
    expect(body(res).error.message).toContain("reconcile");
    expect(await f.runs.approximateCount()).toBe(0);
  });
});

describe("GET /api/sync/runs/{runId} of a reconcile run", () => {
  it("returns the divergence it found", async () => {
    const f = adminFixture();
    const [run] = await f.services.engine.startRuns({ mapping: "mentors", mode: "reconcile", dryRun: false, trigger: "manual" });
    const divergence = { records: 2, fields: { email: 1, score: 1 } };
    await f.state.updateRun(run.runId, (r) => ({ ...r, status: "succeeded", divergence }));

    const res = await runStatusApi(adminRequest("GET", `sync/runs/${run.runId}`, { params: { runId: run.runId } }), f.services);

    expect(res.status).toBe(200);
    expect(body(res)).toMatchObject({ runId: run.runId, mode: "reconcile", divergence });
  });
});
