import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEALTH_CACHE_MS } from "../../../shared/api/healthApi.js";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { systemClock } from "../../../shared/http/clock.js";
import type { Clock, Logger } from "../../../shared/ports.js";
import { startEmulatorStack, type EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import { startLocalRunner, type LocalRunner } from "../../../shared/runtime/localRunner.js";
import { createServices, type Services } from "../../../shared/runtime/services.js";
import { RecordingTelemetry } from "../../../shared/runtime/telemetry.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { demoConfig } from "../../support/syncHarness.js";

/** "Kari Nordmann" of the demo schema: a person editing Dataverse, not the integration's user. */
const OTHER_USER = "5a0e0f2c-6a39-4c3e-8d4b-000000000002";
const INGRID = "c0a80001-0000-4000-8000-000000000001";

let stack: EmulatorStack;
let services: Services;
let runner: LocalRunner;
let adminKey: string;
const logs: { level: string; message: string; props?: Record<string, unknown> }[] = [];
// Real time, but tests can step past the health cache instead of sleeping through it.
let skew = 0;
const clock: Clock = { now: () => Date.now() + skew, sleep: (ms, signal) => systemClock.sleep(ms, signal) };

async function call(method: string, path: string, init: { body?: unknown; key?: string | null } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.key !== null) headers["x-functions-key"] = init.key ?? adminKey;
  const res = await fetch(`${runner.url}${path}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as any };
}

/** Starts runs over HTTP and waits until the runner has processed every queue. */
async function syncOverHttp(body: Record<string, unknown>) {
  const started = await call("POST", "/api/sync", { body });
  expect(started.status).toBe(202);
  await runner.idle();
  return started.json as { runId: string; statusUrl: string; runs: { mapping: string; runId: string; statusUrl: string }[] };
}

async function health() {
  skew += HEALTH_CACHE_MS;
  return call("GET", "/api/health", { key: null });
}

beforeAll(async () => {
  stack = await startEmulatorStack({ storageConnectionString: azuriteConnectionString() });
  const settings = loadSettings(stack.env);
  adminKey = settings.adminApiKey!;
  const config = parseSyncConfig(demoConfig(), "test config", { registry: defaultRegistry.names() });
  const logger: Logger = {
    debug: () => undefined,
    info: (message, props) => logs.push({ level: "info", message, props }),
    warn: (message, props) => logs.push({ level: "warn", message, props }),
    error: (message, props) => logs.push({ level: "error", message, props }),
  };
  services = await createServices({
    settings, config, queues: "storage", tablePrefix: uniqueName("t"), queuePrefix: uniqueName("q"), clock, logger, telemetry: new RecordingTelemetry(),
  });
  runner = await startLocalRunner(services, { host: "127.0.0.1", port: 0, schedule: "", pollMs: 100 });
});

afterAll(async () => {
  await runner?.stop();
  await stack?.stop();
});

describe("the functions over real HTTP on the local runner (storage queues, Azurite)", () => {
  it("answers pending health before the first run", async () => {
    const res = await health();

    expect(res.status).toBe(200);
    expect(res.json.status).toBe("pending");
  });

  it("completes a manual run through the storage queues and serves its status", async () => {
    const started = await syncOverHttp({ mode: "full" });

    const statuses = await Promise.all(started.runs.map((r) => call("GET", new URL(r.statusUrl).pathname)));
    const listed = await call("GET", "/api/sync/runs?limit=10");
    const h = await health();

    expect(started.runs.map((r) => r.mapping)).toEqual(["groups", "mentors"]);
    for (const s of statuses) {
      expect(s.status).toBe(200);
      expect(s.json.status).toBe("succeeded");
      expect(s.json.processed).toBe(s.json.planned);
    }
    // The app's own mentors that Dataverse lacked arrived there, with the app id as the key.
    expect(stack.dataverse.rows("contact").some((r) => r.hlf_mentorid === "m-0004")).toBe(true);
    expect(listed.json.runs.map((r: { runId: string }) => r.runId)).toEqual(expect.arrayContaining(started.runs.map((r) => r.runId)));
    expect(h.status).toBe(200);
    expect(h.json.status).toBe("healthy");
    expect(await services.queues.runs.approximateCount()).toBe(0);
  });

  it("refuses a manual run without the key and enqueues nothing", async () => {
    const res = await call("POST", "/api/sync", { body: { mode: "delta" }, key: null });

    expect(res.status).toBe(401);
    expect(await services.queues.runs.approximateCount()).toBe(0);
  });

  it("answers 405 for a wrong method and 404 for an unknown route", async () => {
    const wrongMethod = await call("DELETE", "/api/sync");
    const unknown = await call("GET", "/api/nothing-here");

    expect(wrongMethod.status).toBe(405);
    expect(unknown.status).toBe(404);
  });

  it("turns health 503 after two consecutive failed runs and back to 200 after a success", async () => {
    const fault = stack.dataverse.faults.add({ path: /contacts/, status: 500, count: Infinity, message: "scripted outage" });

    const first = await syncOverHttp({ mapping: "mentors", mode: "delta" });
    const afterOne = await health();
    await syncOverHttp({ mapping: "mentors", mode: "delta" });
    const afterTwo = await health();
    stack.dataverse.faults.remove(fault);
    await syncOverHttp({ mapping: "mentors", mode: "delta" });
    const recovered = await health();

    expect((await call("GET", `/api/sync/runs/${first.runId}`)).json.status).toBe("failed");
    expect(afterOne.status).toBe(200);
    expect(afterTwo.status).toBe(503);
    expect(afterTwo.json.problems).toContain("mentors toApp: 2 consecutive failed runs");
    expect(JSON.stringify(afterTwo.json)).not.toContain(adminKey);
    expect(recovered.status).toBe(200);
    expect(recovered.json.mappings.find((m: { name: string }) => m.name === "mentors").toApp.consecutiveFailures).toBe(0);
  });

  it("carries a Dataverse edit to the sample app through the Dataverse webhook", async () => {
    const hook = stack.dataverse.webhooks.register({
      table: "contact", messages: ["Update"], url: `${runner.url}/api/webhooks/dataverse`,
      authType: "WebhookKey", authValue: stack.env.DATAVERSE_WEBHOOK_KEY,
    });
    try {
      stack.dataverse.ctx.ops.update("contact", INGRID, { firstname: "Ingrid-Marie" }, OTHER_USER);
      await stack.dataverse.webhooks.idle();
      await runner.idle();

      const deliveries = stack.dataverse.webhooks.deliveries();
      expect(deliveries.at(-1)).toMatchObject({ statuscode: 30 });
      expect(stack.app.get("mentor", "m-0001")?.data?.firstName).toBe("Ingrid-Marie");
    } finally {
      stack.dataverse.webhooks.unregister(hook);
    }
  });
});
