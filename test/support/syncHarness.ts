import { readFileSync } from "node:fs";
import { parseSyncConfig } from "../../shared/config/loadConfig.js";
import type { SyncConfig, SyncConfigInput } from "../../shared/config/mapping.js";
import { loadSettings } from "../../shared/config/settings.js";
import type { Clock, Logger, Telemetry } from "../../shared/ports.js";
import { startEmulatorStack, type EmulatorStack, type EmulatorStackOptions } from "../../shared/runtime/emulatorStack.js";
import { createServices, type ServiceOptions, type Services } from "../../shared/runtime/services.js";
import type { RunSummary } from "../../shared/runtime/summary.js";
import { runCycle, type CycleOptions } from "../../shared/runtime/syncCycle.js";
import { RecordingTelemetry } from "../../shared/runtime/telemetry.js";
import { defaultRegistry, type Registry } from "../../shared/sync/registry.js";
import { azuriteConnectionString, uniqueName } from "./storage.js";

export interface HarnessOptions {
  /** The mapping file (default: the repository's demo sync.config.json). */
  config?: SyncConfigInput;
  seed?: boolean;
  /** The Dataverse emulator's schema (default: the demo schema). */
  schema?: EmulatorStackOptions["schema"];
  dataverse?: EmulatorStackOptions["dataverse"];
  clock?: Clock;
  /** The Dataverse client's clock when the emulator runs time-scaled (test/support/scaledClock.ts). */
  dataverseClock?: Clock;
  registry?: Registry;
  /** The Dataverse client's fetch (to observe requests as the product sends them). */
  dataverseFetch?: typeof fetch;
  /** Telemetry the recording passes on to (e.g. OpenTelemetry with an in-memory exporter). */
  telemetry?: Telemetry;
  /** Settings added to the stack's (e.g. NOTIFY_WEBHOOK_URL, DYNAMICS_CREDENTIAL_EXPIRES_ON). */
  env?: Record<string, string>;
  /** How the Key Vault secret's expiry is read (default: the managed identity, which tests have not). */
  vaultExpiry?: ServiceOptions["vaultExpiry"];
}

export interface SyncHarness {
  stack: EmulatorStack;
  services: Services;
  config: SyncConfig;
  telemetry: RecordingTelemetry;
  logs: { level: string; message: string; props?: Record<string, unknown> }[];
  /** One complete cycle in process (what `npm run sync` does). */
  cycle(options?: Partial<CycleOptions>): Promise<RunSummary>;
  /** Dataverse write requests (POST/PATCH/DELETE, inner batch parts included) logged since `since`. */
  dataverseWrites(since?: number): { method: string; path: string; body: string; inBatch: boolean }[];
  /** App write requests since `since`. */
  appWrites(since?: number): { method: string; path: string; body: unknown }[];
  stop(): Promise<void>;
}

export function demoConfig(): SyncConfigInput {
  return JSON.parse(readFileSync(new URL("../../sync.config.json", import.meta.url), "utf8")) as SyncConfigInput;
}

/**
 * The whole product against real parts: Azurite (from the global setup) with the real Table
 * client, the HTTPS token endpoint with @azure/identity, the Dataverse emulator and the sample app.
 * Queues are in memory, as in `npm run sync`. Every harness gets its own tables.
 */
export async function startSyncHarness(options: HarnessOptions = {}): Promise<SyncHarness> {
  const stack = await startEmulatorStack({ storageConnectionString: azuriteConnectionString(), seed: options.seed ?? true, schema: options.schema, dataverse: options.dataverse });
  try {
    const env = { ...stack.env, ...options.env };
    const settings = loadSettings(env);
    const registry = options.registry ?? defaultRegistry;
    const config = parseSyncConfig(options.config ?? demoConfig(), "test config", { registry: registry.names() });
    const telemetry = new RecordingTelemetry(options.telemetry);
    const logs: SyncHarness["logs"] = [];
    const logger: Logger = {
      debug: (message, props) => logs.push({ level: "debug", message, props }),
      info: (message, props) => logs.push({ level: "info", message, props }),
      warn: (message, props) => logs.push({ level: "warn", message, props }),
      error: (message, props) => logs.push({ level: "error", message, props }),
    };
    const services = await createServices({ settings, config, queues: "memory", tablePrefix: uniqueName("t"), logger, telemetry, clock: options.clock, dataverseClock: options.dataverseClock, registry, dataverseFetch: options.dataverseFetch, env, vaultExpiry: options.vaultExpiry });
    const isWrite = (m: string) => m === "POST" || m === "PATCH" || m === "DELETE" || m === "PUT";
    return {
      stack, services, config, telemetry, logs,
      cycle: async (o = {}) => (await runCycle(services, { full: false, dryRun: false, ...o })).summary,
      dataverseWrites: (since = 0) => stack.dataverse.log.entries()
        .filter((e) => e.at >= since && e.status < 400 && (isWrite(e.method) && !e.path.startsWith("$batch") || e.inBatch && isWrite(e.method)))
        .map((e) => ({ method: e.method, path: e.path, body: e.body, inBatch: e.inBatch })),
      appWrites: (since = 0) => stack.app.requests
        .filter((r, i) => i >= since && isWrite(r.method) && r.status < 400)
        .map((r) => ({ method: r.method, path: r.path, body: r.body })),
      stop: () => stack.stop(),
    };
  } catch (e) {
    await stack.stop();
    throw e;
  }
}
