import functions from "@azure/functions";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { Settings } from "../../../shared/config/settings.js";
import { SyncError } from "../../../shared/errors.js";
import type { AppClient, Clock, DataverseClient, Logger } from "../../../shared/ports.js";
import type { Services } from "../../../shared/runtime/services.js";
import { RecordingTelemetry } from "../../../shared/runtime/telemetry.js";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";
import { createMemoryStateStore, type MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { SyncEngine } from "../../../shared/sync/engine.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import type { RunMessage } from "../../../shared/sync/writeOps.js";
import { demoConfig } from "../../support/syncHarness.js";

const { HttpRequest } = functions;

export const ADMIN_KEY = "admin-key-0123456789abcdef";
export const BASE = "http://127.0.0.1:7071";

export interface AdminFixture {
  services: Services;
  state: MemoryStateStore;
  runs: MemoryWorkQueue<RunMessage>;
  logs: { level: string; message: string; props?: Record<string, unknown> }[];
  clock: Clock & { advance(ms: number): void };
  tokenCalls(): number;
  failToken(error?: Error): void;
}

/**
 * Services with the demo mapping file, a real SyncEngine over the in-memory state store and
 * queues, an injected clock and a scripted token check. Dataverse and the app are never called.
 */
export function adminFixture(): AdminFixture {
  let now = Date.parse("2025-03-01T12:00:00Z");
  const clock = { now: () => now, sleep: async () => undefined, advance: (ms: number) => void (now += ms) };
  const config = parseSyncConfig(demoConfig(), "test config", { registry: defaultRegistry.names() });
  const state = createMemoryStateStore();
  const queues = {
    runs: new MemoryWorkQueue<RunMessage>("sync-runs", clock),
    dataverseWrites: new MemoryWorkQueue<never>("dataverse-writes", clock),
    appWrites: new MemoryWorkQueue<never>("app-writes", clock),
    recordEvents: new MemoryWorkQueue<never>("record-events", clock),
  };
  const logs: AdminFixture["logs"] = [];
  const logger: Logger = {
    debug: (message, props) => logs.push({ level: "debug", message, props }),
    info: (message, props) => logs.push({ level: "info", message, props }),
    warn: (message, props) => logs.push({ level: "warn", message, props }),
    error: (message, props) => logs.push({ level: "error", message, props }),
  };
  const telemetry = new RecordingTelemetry();
  const unused = new Proxy({}, { get: (_t, p) => { throw new Error(`unexpected call: ${String(p)}`); } });
  const engine = new SyncEngine({
    config, dataverse: unused as DataverseClient, app: unused as AppClient, state, queues, clock, logger, telemetry,
    registry: defaultRegistry, selfUserId: async () => "00000000-0000-0000-0000-000000000001",
  });
  let calls = 0;
  let tokenError: Error | undefined;
  const services = {
    settings: { adminApiKey: ADMIN_KEY } as Settings,
    config, engine, state, queues, dataverse: unused, app: unused, clock, logger, telemetry,
    checkToken: async () => {
      calls += 1;
      if (tokenError) throw tokenError;
    },
    credentialExpiry: { read: async () => null },
  } as unknown as Services;
  return {
    services, state, runs: queues.runs, logs, clock,
    tokenCalls: () => calls,
    failToken: (error = new SyncError("auth", "AUTH", "AADSTS7000215: Invalid client secret provided: s3cr3t-value")) => void (tokenError = error),
  };
}

export function adminRequest(method: string, path: string, init: { key?: string | null; body?: string; query?: string; params?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.key !== null) headers["x-functions-key"] = init.key ?? ADMIN_KEY;
  return new HttpRequest({
    method, url: `${BASE}/api/${path}${init.query ? `?${init.query}` : ""}`, headers, params: init.params ?? {},
    body: init.body === undefined ? undefined : { string: init.body },
  });
}
