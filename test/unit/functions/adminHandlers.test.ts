import functions from "@azure/functions";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { setServices } from "../../../shared/runtime/services.js";
import { ADMIN_KEY, adminFixture, adminRequest } from "../api/adminFixtures.js";

const { HttpResponse, InvocationContext } = functions;
type Handler = (req: InstanceType<typeof functions.HttpRequest>, ctx: InstanceType<typeof InvocationContext>) => Promise<{ status?: number; jsonBody?: any; headers?: any }>;
let handlers: { manualSync: Handler; runStatus: Handler; listRuns: Handler; health: Handler };

function context(name: string) {
  const logs: [string, ...unknown[]][] = [];
  return { ctx: new InvocationContext({ invocationId: "inv-1", functionName: name, logHandler: (level, ...args) => logs.push([level, ...args]) }), logs };
}

beforeAll(async () => {
  // Registration goes to the local runner's list only: no host, no test-mode warnings.
  process.env.D365_SYNC_LOCAL_RUNNER = "1";
  const [m, r, h] = await Promise.all([import("../../../functions/manualSync.js"), import("../../../functions/runStatus.js"), import("../../../functions/health.js")]);
  handlers = { manualSync: m.manualSync as Handler, runStatus: r.runStatus as Handler, listRuns: r.listRuns as Handler, health: h.health as Handler };
});

afterEach(() => setServices(undefined));

describe("the admin and health handlers under @azure/functions", () => {
  it("manualSync answers 202 and its run is readable through runStatus", async () => {
    const f = adminFixture();
    setServices(f.services);

    const started = await handlers.manualSync(adminRequest("POST", "sync", { body: JSON.stringify({ mapping: "groups", mode: "delta" }) }), context("manualSync").ctx);
    const runId = started.jsonBody.runId as string;
    const status = await handlers.runStatus(adminRequest("GET", `sync/runs/${runId}`, { params: { runId } }), context("runStatus").ctx);

    expect(started.status).toBe(202);
    expect(status.status).toBe(200);
    expect(status.jsonBody).toMatchObject({ runId, mapping: "groups", status: "queued", trigger: "manual" });
    // The host turns the init into a real response: the JSON must survive that.
    const res = new HttpResponse(status as ConstructorParameters<typeof HttpResponse>[0]);
    expect(await res.json()).toMatchObject({ runId });
  });

  it("manualSync refuses a wrong key with 401 and leaves the queue empty", async () => {
    const f = adminFixture();
    setServices(f.services);

    const res = await handlers.manualSync(adminRequest("POST", "sync", { key: `${ADMIN_KEY}x`, body: "{}" }), context("manualSync").ctx);

    expect(res.status).toBe(401);
    expect(await f.runs.approximateCount()).toBe(0);
  });

  it("listRuns reads the ?mapping and ?limit query of the real request", async () => {
    const f = adminFixture();
    setServices(f.services);
    await f.services.engine.startRuns({ mode: "delta", dryRun: false, trigger: "manual" });

    const res = await handlers.listRuns(adminRequest("GET", "sync/runs", { query: "mapping=groups&limit=5" }), context("listRuns").ctx);

    expect(res.status).toBe(200);
    expect(res.jsonBody.runs.map((r: { mapping: string }) => r.mapping)).toEqual(["groups"]);
  });

  it("health answers 200 pending with no-store caching before the first run", async () => {
    const f = adminFixture();
    setServices(f.services);

    const res = await handlers.health(adminRequest("GET", "health", { key: null }), context("health").ctx);

    expect(res.status).toBe(200);
    expect(res.jsonBody.status).toBe("pending");
    expect(res.headers).toMatchObject({ "cache-control": "no-store" });
  });

  it.each(["manualSync", "runStatus", "health"] as const)("%s answers 503 without the reason when the app is not configured, and logs the reason", async (name) => {
    setServices(undefined);
    const saved = process.env.DYNAMICS_INSTANCE_URL;
    delete process.env.DYNAMICS_INSTANCE_URL;
    const { ctx, logs } = context(name);

    try {
      const res = await handlers[name](adminRequest(name === "manualSync" ? "POST" : "GET", "x", { body: name === "manualSync" ? "{}" : undefined, params: { runId: "0b6f3a52-8d5e-4c1e-9f0a-2b7c1d9e4f11" } }), ctx);

      expect(res.status).toBe(503);
      expect(JSON.stringify(res.jsonBody)).not.toContain("DYNAMICS_INSTANCE_URL");
      expect(logs.some(([level, ...args]) => level === "error" && args.join(" ").includes("DYNAMICS_INSTANCE_URL"))).toBe(true);
    } finally {
      if (saved !== undefined) process.env.DYNAMICS_INSTANCE_URL = saved;
    }
  });
});
