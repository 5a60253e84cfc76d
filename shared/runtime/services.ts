import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import { loadSyncConfig } from "../config/loadConfig.js";
import type { SyncConfig } from "../config/mapping.js";
import { loadSettings, secretValues, type Settings, type StorageSettings } from "../config/settings.js";
import { createAppClient } from "../app/appClient.js";
import { createDataverseClient, createDataverseTokenProvider, type DataverseClientExtras } from "../dataverse/index.js";
import type { RequestBudget } from "../dataverse/dataverseTransport.js";
import { systemClock } from "../http/clock.js";
import { createDataverseBudget, createLocalDataverseBudget } from "../throttle/dataverseBudget.js";
import { Queues, TelemetryEvents } from "../names.js";
import type { AppClient, Clock, Logger, SyncStateStore, Telemetry, WorkQueue } from "../ports.js";
import { webhookNotifier } from "../ops/notifier.js";
import { coordinatorEndpoints } from "../ops/coordinators.js";
import { credentialExpiryReader, type CredentialExpiryReader, type VaultSecretExpiry } from "../config/credentialExpiry.js";
import { countingTokenFailures, recordThrottled } from "../telemetry/syncMetrics.js";
import { runMonitor } from "../telemetry/runMonitor.js";
import { trackingExpiries } from "../sync/expiryRules.js";
import { createTableExpiryIndex } from "../state/tableExpiryIndex.js";
import { MemoryWorkQueue } from "../state/memoryQueue.js";
import { relieveWriteQueues } from "./queuePump.js";
import { createStorageQueue } from "../state/storageQueue.js";
import { createTableStateStore } from "../state/tableStateStore.js";
import { SyncEngine, type EngineQueues } from "../sync/engine.js";
import { defaultRegistry, type Registry } from "../sync/registry.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { JsonLogger } from "./logger.js";
import { maskedTelemetry, otelTelemetry } from "./telemetry.js";

export interface ServiceQueues extends EngineQueues {
  recordEvents: WorkQueue<RecordEventMessage>;
}

export interface Services {
  settings: Settings;
  config: SyncConfig;
  engine: SyncEngine;
  state: SyncStateStore;
  queues: ServiceQueues;
  dataverse: DataverseClientExtras;
  app: AppClient;
  clock: Clock;
  logger: Logger;
  telemetry: Telemetry;
  /** Checks that a Dataverse token can be obtained (health). */
  checkToken(): Promise<void>;
  /** When the Dataverse credential expires, when known (health, metric, notifier). */
  credentialExpiry: CredentialExpiryReader;
}

export interface ServiceOptions {
  settings: Settings;
  config: SyncConfig;
  /** "storage": the Storage queues the Functions host triggers on; "memory": one process (`npm run sync`). */
  queues: "storage" | "memory";
  clock?: Clock;
  logger?: Logger;
  telemetry?: Telemetry;
  registry?: Registry;
  /** Prefix for table names (tests isolate themselves with it). */
  tablePrefix?: string;
  /** Where the mappings' coordinator webhook settings (`notify.webhookUrlSetting`) are read (default: the process environment). */
  env?: Record<string, string | undefined>;
  /** How the Key Vault secret's expiry is read (default: the SDK with the app's managed identity). */
  vaultExpiry?: () => Promise<VaultSecretExpiry>;
  /** Prefix for queue names (tests). */
  queuePrefix?: string;
  /** A Dataverse request budget (shared/throttle); default: one for this process only. */
  dataverseBudget?: RequestBudget;
  /** Build the per-identity budget in Table Storage that all function instances share (the Functions root does). */
  sharedBudget?: boolean;
  /** The fetch the Dataverse client uses (tests observe the wire with it). */
  dataverseFetch?: typeof fetch;
  /** Records per bulk request to start from (the client shrinks it on timeouts; default 100). */
  dataverseBulkSize?: number;
}

function storageCredential(storage: Extract<StorageSettings, { kind: "identity" }>): TokenCredential {
  return storage.credential === "managedidentity"
    ? new ManagedIdentityCredential(storage.clientId ? { clientId: storage.clientId } : {})
    : new DefaultAzureCredential();
}

/** The composition root: every adapter built once, from validated settings and config. */
export async function createServices(options: ServiceOptions): Promise<Services> {
  const { settings, config } = options;
  const clock = options.clock ?? systemClock;
  const d = settings.dynamics;
  const coordinators = coordinatorEndpoints(config, options.env ?? process.env);
  const secrets = [...secretValues(settings), ...Object.values(coordinators).map((c) => c.url)];
  const logger = options.logger ?? new JsonLogger({ secrets });
  const telemetry = maskedTelemetry(options.telemetry ?? otelTelemetry(), secrets);
  const tokens = countingTokenFailures(createDataverseTokenProvider({
    instanceUrl: d.instanceUrl, tenantId: d.tenantId, clientId: d.clientId, authorityHost: d.authorityHost,
    clientSecret: d.credential.secret, certificatePath: d.credential.certificatePath,
    credential: d.credential.kind === "client-secret" ? "secret" : d.credential.kind,
  }, { clock, timeoutMs: config.options.http.tokenTimeoutMs }), telemetry);
  const storage = settings.storage;
  const tableTarget = storage.kind === "connection-string"
    ? { connectionString: storage.connectionString }
    : { accountUrl: storage.tableServiceUri, credential: storageCredential(storage) };
  const budget = options.dataverseBudget ?? (options.sharedBudget
    ? await createDataverseBudget({ ...tableTarget, allowInsecureConnection: true }, d.clientId, { tablePrefix: options.tablePrefix })
    : createLocalDataverseBudget(d.clientId, clock));
  const dataverse = createDataverseClient({
    instanceUrl: d.instanceUrl, tokens, clock, logger, budget, bulkSize: options.dataverseBulkSize, fetch: options.dataverseFetch,
    feedLimits: config.options.feeds, bounds: config.options.http,
    onThrottled: ({ retryAfterMs, code }) => {
      telemetry.event(TelemetryEvents.throttled, { retryAfterMs, code });
      recordThrottled(telemetry, retryAfterMs);
    },
  });
  const app = createAppClient({ baseUrl: settings.app.baseUrl, apiKey: settings.app.apiKey, clock, logger, feedLimits: config.options.feeds, bounds: config.options.http });

  const tableStore = await createTableStateStore({ ...tableTarget, tablePrefix: options.tablePrefix, allowInsecureConnection: true });
  await tableStore.ensureTables();
  const expiry = await createTableExpiryIndex({ ...tableTarget, allowInsecureConnection: true }, options.tablePrefix);
  const state = trackingExpiries(tableStore, expiry, config);

  const queueName = (n: string) => `${options.queuePrefix ?? ""}${n}`;
  const makeQueue = async <T>(name: string): Promise<WorkQueue<T>> => {
    if (options.queues === "memory") return new MemoryWorkQueue<T>(queueName(name), clock);
    const q = await createStorageQueue<T>(storage.kind === "connection-string"
      ? { connectionString: storage.connectionString, name: queueName(name) }
      : { accountUrl: storage.queueServiceUri, credential: storageCredential(storage), name: queueName(name) });
    await q.ensure();
    return q;
  };
  const queues: ServiceQueues = {
    runs: await makeQueue(Queues.runs),
    dataverseWrites: await makeQueue(Queues.dataverseWrites),
    appWrites: await makeQueue(Queues.appWrites),
    recordEvents: await makeQueue(Queues.recordEvents),
  };

  let self: Promise<string> | undefined;
  const selfUserId = () => (self ??= dataverse.whoAmI().then((w) => w.UserId).catch((e) => { self = undefined; throw e; }));
  const notifier = settings.notifyWebhookUrl || Object.keys(coordinators).length
    ? webhookNotifier(settings.notifyWebhookUrl, { clock, logger, mappings: coordinators })
    : undefined;
  let services: Services | undefined;
  // In one process (`npm run sync`) queued writes are applied while the run is still planned.
  const relieve = options.queues === "memory" ? () => relieveWriteQueues(services!) : undefined;
  const credentialExpiry = credentialExpiryReader(settings, { clock, logger, vault: options.vaultExpiry });
  const monitor = runMonitor({ config, state, telemetry, clock, logger, notifier, credentialExpiry });
  const engine = new SyncEngine({ config, dataverse, app, state, queues, clock, logger, telemetry, registry: options.registry ?? defaultRegistry, selfUserId, notifier, relieve, monitor, expiry });
  services = { settings, config, engine, state, queues, dataverse, app, clock, logger, telemetry, checkToken: async () => void (await tokens.getToken()), credentialExpiry };
  return services;
}

let current: Promise<Services> | undefined;

/**
 * Services for the function handlers, built lazily on first use from the environment (app
 * settings). A bad setting or mapping file fails that first invocation with a message naming it.
 */
export function getServices(): Promise<Services> {
  current ??= (async () => {
    // The Functions app serves the HTTP routes: ADMIN_API_KEY is required here.
    const settings = loadSettings(process.env, { serveHttp: true });
    const config = await loadSyncConfig(settings.configPath, { registry: defaultRegistry.names() });
    return createServices({ settings, config, queues: "storage", sharedBudget: true });
  })().catch((e) => {
    current = undefined;
    throw e;
  });
  return current;
}

/** The local runner and tests inject their own services. */
export function setServices(services: Services | undefined): void {
  current = services ? Promise.resolve(services) : undefined;
}
