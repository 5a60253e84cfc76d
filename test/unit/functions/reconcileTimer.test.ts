import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvocationContext } from "@azure/functions";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { FunctionNames } from "../../../shared/names.js";
import { setServices } from "../../../shared/runtime/services.js";
import { adminFixture } from "../api/adminFixtures.js";
import { config, mapping, problemsOf } from "../config/factories.js";

interface Registered { kind: string; name: string; options: Record<string, any> }
const registered: Registered[] = [];

// What the Azure host would receive: app.* replaced by recorders (as in registrations.test.ts).
vi.mock("@azure/functions", async (importOriginal) => {
  const orig = await importOriginal<typeof import("@azure/functions")>();
  const rec = (kind: string) => (name: string, options: Record<string, any>) => void registered.push({ kind, name, options });
  const app = { ...orig.app, http: rec("http"), timer: rec("timer"), storageQueue: rec("storageQueue") };
  return { ...orig, app, default: { ...orig, app } };
});

const dir = mkdtempSync(join(tmpdir(), "d365-reconcile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const configFile = (json: unknown) => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(json));
  return path;
};

let mod: typeof import("../../../functions/scheduledReconcile.js");
beforeAll(async () => {
  delete process.env.D365_SYNC_LOCAL_RUNNER;
  delete process.env.SYNC_CONFIG_PATH;
  mod = await import("../../../functions/scheduledReconcile.js");
});
afterEach(() => setServices(undefined));

describe("the scheduledReconcile timer", () => {
  it("is registered on the default weekly schedule (Sunday 03:00 UTC), never on start-up, with the schedule monitor", () => {
    const timer = registered.find((r) => r.name === FunctionNames.reconcileTimer);

    expect(timer?.kind).toBe("timer");
    expect(timer?.options).toMatchObject({ schedule: "0 0 3 * * 0", runOnStartup: false, useMonitor: true });
  });

  it("reads options.reconcileSchedule from the mapping file, with six fields", () => {
    expect(mod.reconcileScheduleFromConfig(configFile({ options: { reconcileSchedule: "0 30 4 * * 6" } }))).toBe("0 30 4 * * 6");
    expect(mod.reconcileScheduleFromConfig(configFile({ options: { reconcileSchedule: "15 1 * * 3" } }))).toBe("0 15 1 * * 3");
    expect(mod.reconcileScheduleFromConfig(configFile({ schedule: "0 0 2 * * *" }))).toBe(mod.DEFAULT_RECONCILE_SCHEDULE);
  });

  it("starts one reconcile run per mapping, parents first", async () => {
    const f = adminFixture();
    setServices(f.services);
    const context = new InvocationContext({ functionName: FunctionNames.reconcileTimer });

    await mod.scheduledReconcile({ isPastDue: false } as never, context);

    const messages = await f.runs.receive(10, 60_000);
    expect(messages.map((m) => [m.body.mapping, m.body.mode, m.body.trigger])).toEqual([["groups", "reconcile", "timer"], ["mentors", "reconcile", "timer"]]);
  });
});

describe("options.reconcileSchedule in the mapping file", () => {
  it("defaults to Sunday 03:00 UTC", () => {
    expect(parseSyncConfig(config(mapping())).options.reconcileSchedule).toBe("0 0 3 * * 0");
  });

  it("is normalised to six fields", () => {
    expect(parseSyncConfig({ ...config(mapping()), options: { reconcileSchedule: "0 4 * * 6" } }).options.reconcileSchedule).toBe("0 0 4 * * 6");
  });

  it("is refused with a problem naming it when it is not NCRONTAB", () => {
    const problems = problemsOf(() => parseSyncConfig({ ...config(mapping()), options: { reconcileSchedule: "weekly" } }));

    expect(problems).toEqual([expect.stringMatching(/^options\.reconcileSchedule: expected an NCRONTAB schedule of 6 fields.*"weekly" \(1 fields\)$/)]);
  });
});
