import { expect } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { startEmulatorStack, type EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import { startLocalRunner, type LocalRunner } from "../../../shared/runtime/localRunner.js";
import { createServices, type Services } from "../../../shared/runtime/services.js";
import { RecordingTelemetry } from "../../../shared/runtime/telemetry.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { configWithMentors, contactIdOf, OTHER_USER } from "../sync/syncFixtures.js";

/**
 * The local stack as `npm start` runs it (emulators, Azurite tables and queues, the local runner
 * serving the registered functions) with the demo mapping under the `manual` strategy, and two
 * records that need an operator: m-0002 pending (a choice the mapping cannot map) and m-0001 with
 * a parked conflict on `score` (and on `firstName`).
 */
export interface AdminStack {
  stack: EmulatorStack;
  services: Services;
  runner: LocalRunner;
  telemetry: RecordingTelemetry;
  adminKey: string;
  call(method: string, path: string, init?: { body?: unknown; raw?: string; key?: string | null }): Promise<{ status: number; headers: Headers; bytes: Buffer; text: string; json: any }>;
  sync(): Promise<void>;
  stop(): Promise<void>;
}

export const CONFLICT_APP_ID = "m-0001";
export const CONFLICT_CONTACT = contactIdOf(1);
export const PENDING_APP_ID = "m-0002";

export async function startAdminStack(): Promise<AdminStack> {
  const stack = await startEmulatorStack({ storageConnectionString: azuriteConnectionString() });
  // The credential expires in 10 days: inside the 30-day warning, so the console shows it.
  const settings = loadSettings({ ...stack.env, DYNAMICS_CREDENTIAL_EXPIRES_ON: new Date(Date.now() + 10.5 * 86_400_000).toISOString() });
  const config = parseSyncConfig(configWithMentors((m) => { m.conflict = { strategy: "manual" }; }), "test config", { registry: defaultRegistry.names() });
  const telemetry = new RecordingTelemetry();
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const services = await createServices({ settings, config, queues: "storage", tablePrefix: uniqueName("t"), queuePrefix: uniqueName("q"), logger: quiet, telemetry });
  const runner = await startLocalRunner(services, { host: "127.0.0.1", port: 0, schedule: "", pollMs: 50 });
  const adminKey = settings.adminApiKey!;
  const call: AdminStack["call"] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (init.key !== null) headers["x-functions-key"] = init.key ?? adminKey;
    const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    const res = await fetch(`${runner.url}${path}`, { method, headers, body });
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString("utf8");
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, bytes, text, json };
  };
  const sync = async () => {
    expect((await call("POST", "/api/sync", { body: { mode: "delta" } })).status).toBe(202);
    await runner.idle();
  };
  return { stack, services, runner, telemetry, adminKey, call, sync, stop: async () => { await runner.stop(); await stack.stop(); } };
}

/** First sync, then the edits that leave one pending record and one parked conflict. */
export async function seedOperatorWork(a: AdminStack): Promise<void> {
  await a.sync();
  a.stack.app.patch("mentor", PENDING_APP_ID, { certificationStatus: "revoked" });
  a.stack.dataverse.ctx.ops.update("contact", CONFLICT_CONTACT, { hlf_score: 11, firstname: "Inga" }, OTHER_USER);
  a.stack.app.patch("mentor", CONFLICT_APP_ID, { score: 22, firstName: "Ingrid-App" });
  await a.sync();
}
