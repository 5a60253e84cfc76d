import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import { ConfigError } from "../config/configError.js";
import { loadSyncConfig } from "../config/loadConfig.js";
import type { SyncConfig } from "../config/mapping.js";
import { loadSettings, secretValues, type Settings, type StorageSettings } from "../config/settings.js";
import { createAppClient } from "../app/appClient.js";
import { createDataverseClient, createDataverseTokenProvider, type DataverseClientExtras } from "../dataverse/index.js";
import type { RequestBudget } from "../dataverse/dataverseTransport.js";
import { ErrorCodes } from "../errors.js";
import { systemClock } from "../http/clock.js";
import { createDataverseBudget, createLocalDataverseBudget } from "../throttle/dataverseBudget.js";
import { Queues, Settings as SettingNames, Tables, TelemetryEvents } from "../names.js";
import type { AppClient, Clock, Logger, SyncStateStore, Telemetry, WorkQueue } from "../ports.js";
import { webhookNotifier } from "../ops/notifier.js";
import { coordinatorEndpoints } from "../ops/coordinators.js";
import { credentialExpiryReader, type CredentialExpiryReader, type VaultSecretExpiry } from "../config/credentialExpiry.js";
import { countingTokenFailures, recordThrottled } from "../telemetry/syncMetrics.js";
import { runMonitor } from "../telemetry/runMonitor.js";
import { trackingExpiries } from "../sync/expiryRules.js";
import { createTableExpiryIndex } from "../state/tableExpiryIndex.js";
import { MemoryWorkQueue } from "../state/memoryQueue.js";
import { HOST_QUEUE_CONCURRENCY, relieveWriteQueues } from "./queuePump.js";
import { createStorageQueue } from "../state/storageQueue.js";
import { groupCommitted } from "../state/groupCommitQueue.js";
import type { RecordEventBody } from "../state/noticeGroups.js";
import { createTableStateStore } from "../state/tableStateStore.js";
import { SyncEngine, type EngineQueues } from "../sync/engine.js";
import { defaultRegistry, type Registry } from "../sync/registry.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { JsonLogger } from "./logger.js";
import { DEFAULT_TENANT, tenantTablePrefix } from "../tenants/tenantIds.js";
import { guardEnvironment } from "../tenants/environmentGuard.js";
import { tenantScoped } from "../tenants/tenantScope.js";
import { tableClientFactory } from "../state/tableClients.js";
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
  /** The tenant these services serve (shared/tenants); `default` when absent. */
  tenant?: string;
  /** The options they were built from (the tenant directory builds each tenant's from the default's). */
  options?: ServiceOptions;
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
  /**
   * The Dataverse client's clock (Retry-After waits, the throttle budget's window), when it is not
   * `clock`: a harness that runs the emulated service faster or slower than real time gives it a
   * clock that runs as fast; the rest of the product keeps real time.
   */
  dataverseClock?: Clock;
  dataverseFetch?: typeof fetch;
  /** Records per bulk request to start from (the client shrinks it on timeouts; default 100). */
  dataverseBulkSize?: number;
  /**
   * The tenant served (shared/tenants). Default `default`: the settings' own environment, today's
   * tables and messages. Another tenant gets its own tables (`T<id>` after `tablePrefix`), throttle
   * budget, tagged queue messages, `X-Sync-Tenant` on app calls, and `tenant` on logs and notices.
   */
  tenant?: string;
  /** WhoAmI's OrganizationId when known (a registered tenant): kept in the storage guard's marker. */
  organizationId?: string;
  /** Wraps the Dataverse token provider (a registered tenant's consent classification). */
  wrapTokens?: <T extends { getToken(): Promise<string> }>(tokens: T) => T;
}

export function storageCredential(storage: Extract<StorageSettings, { kind: "identity" }>): TokenCredential {
  return storage.credential === "managedidentity"
    ? new ManagedIdentityCredential(storage.clientId ? { clientId: storage.clientId } : {})
    : new DefaultAzureCredential();
}

/**
 * The Dataverse settings, or, when only F&O jobs are configured (no DYNAMICS_INSTANCE_URL), the same
 * credential aimed at FINOPS_BASE_URL: no mapping calls Dataverse then, and the token check asks
 * for an F&O token. Mappings without DYNAMICS_INSTANCE_URL stop start-up naming the setting.
 */
function dynamicsOrFinops(settings: Settings, config: SyncConfig): Settings["dynamics"] {
  if (settings.dynamics.instanceUrl) return settings.dynamics;
  if (config.mappings.length || config.activities?.length || !settings.finops) {
    throw new ConfigError(ErrorCodes.InvalidSetting, "Invalid settings", [
      `${SettingNames.dynamicsInstanceUrl}: required: the mapping file has Dataverse mappings (it is optional only with FINOPS_BASE_URL and nothing but F&O jobs)`,
    ]);
  }
  return { ...settings.dynamics, instanceUrl: settings.finops.baseUrl };
}

/** The composition root: every adapter built once, from validated settings and config. */
export async function createServices(options: ServiceOptions): Promise<Services> {
  const { settings, config } = options;
  const tenant = options.tenant ?? DEFAULT_TENANT;
  // Every table of this tenant's state (and its throttle budget) carries its prefix: "" for default.
  const tablePrefix = (options.tablePrefix ?? "") + tenantTablePrefix(tenant);
  const scope = tenantScoped(tenant);
  const clock = options.clock ?? systemClock;
  const d = dynamicsOrFinops(settings, config);
  const coordinators = coordinatorEndpoints(config, options.env ?? process.env);
  const secrets = [...secretValues(settings), ...Object.values(coordinators).map((c) => c.url)];
  const logger = scope.logger(options.logger ?? new JsonLogger({ secrets }));
  const telemetry = maskedTelemetry(scope.telemetry(options.telemetry ?? otelTelemetry()), secrets);
  const wrapTokens = options.wrapTokens ?? (<T,>(t: T) => t);
  const tokens = wrapTokens(countingTokenFailures(createDataverseTokenProvider({
    instanceUrl: d.instanceUrl, tenantId: d.tenantId, clientId: d.clientId, authorityHost: d.authorityHost,
    clientSecret: d.credential.secret, certificatePath: d.credential.certificatePath,
    credential: d.credential.kind === "client-secret" ? "secret" : d.credential.kind,
  }, { clock, timeoutMs: config.options.http.tokenTimeoutMs }), telemetry));
  const storage = settings.storage;
  const tableTarget = storage.kind === "connection-string"
    ? { connectionString: storage.connectionString }
    : { accountUrl: storage.tableServiceUri, credential: storageCredential(storage) };
  const budget = options.dataverseBudget ?? (options.sharedBudget
    ? await createDataverseBudget({ ...tableTarget, allowInsecureConnection: true }, d.clientId, { tablePrefix })
    : createLocalDataverseBudget(d.clientId, options.dataverseClock ?? clock));
  const dataverse = createDataverseClient({
    instanceUrl: d.instanceUrl, tokens, clock: options.dataverseClock ?? clock, logger, budget, bulkSize: options.dataverseBulkSize, fetch: options.dataverseFetch, lanes: HOST_QUEUE_CONCURRENCY,
    feedLimits: config.options.feeds, bounds: config.options.http,
    onThrottled: ({ retryAfterMs, code }) => {
      telemetry.event(TelemetryEvents.throttled, { retryAfterMs, code });
      recordThrottled(telemetry, retryAfterMs);
    },
  });
  const app = createAppClient({ baseUrl: settings.app.baseUrl, apiKey: settings.app.apiKey, clock, logger, feedLimits: config.options.feeds, bounds: config.options.http, headers: scope.appHeaders() });

  const tableStore = await createTableStateStore({ ...tableTarget, tablePrefix, allowInsecureConnection: true });
  await tableStore.ensureTables();
  // The storage guard: this tenant's state must belong to this Dataverse environment.
  await guardEnvironment(tableClientFactory({ ...tableTarget, allowInsecureConnection: true })(tablePrefix + Tables.cursors), tenant,
    [...config.mappings, ...(config.activities ?? [])].map((m) => m.name), { instanceUrl: d.instanceUrl, organizationId: options.organizationId });
  const expiry = await createTableExpiryIndex({ ...tableTarget, allowInsecureConnection: true }, tablePrefix);
  const state = trackingExpiries(tableStore, expiry, config);

  const queueName = (n: string) => `${options.queuePrefix ?? ""}${n}`;
  const makeQueue = async <T>(name: string, storageView: (q: WorkQueue<T>) => WorkQueue<T> = (q) => q): Promise<WorkQueue<T>> => {
    if (options.queues === "memory") return scope.queue(new MemoryWorkQueue<T>(queueName(name), clock));
    const q = await createStorageQueue<T>(storage.kind === "connection-string"
      ? { connectionString: storage.connectionString, name: queueName(name) }
      : { accountUrl: storage.queueServiceUri, credential: storageCredential(storage), name: queueName(name) });
    await q.ensure();
    return scope.queue(storageView(q));
  };
  const queues: ServiceQueues = {
    runs: await makeQueue(Queues.runs),
    dataverseWrites: await makeQueue(Queues.dataverseWrites),
    appWrites: await makeQueue(Queues.appWrites),
    // Notices that arrive together share one message (group commit: shared/state/groupCommitQueue.ts).
    recordEvents: await makeQueue<RecordEventMessage>(Queues.recordEvents, (q) => groupCommitted(q as WorkQueue<RecordEventBody>)),
  };

  let self: Promise<string> | undefined;
  const selfUserId = () => (self ??= dataverse.whoAmI().then((w) => w.UserId).catch((e) => { self = undefined; throw e; }));
  const notifier = settings.notifyWebhookUrl || Object.keys(coordinators).length
    ? webhookNotifier(settings.notifyWebhookUrl, { clock, logger, mappings: coordinators, ...scope.notifierOptions() })
    : undefined;
  let services: Services | undefined;
  // In one process (`npm run sync`) queued writes are applied while the run is still planned.
  const relieve = options.queues === "memory" ? () => relieveWriteQueues(services!) : undefined;
  const credentialExpiry = credentialExpiryReader(settings, { clock, logger, vault: options.vaultExpiry });
  const monitor = runMonitor({ config, state, telemetry, clock, logger, notifier, credentialExpiry });
  const engine = new SyncEngine({ config, dataverse, app, state, queues, clock, logger, telemetry, registry: options.registry ?? defaultRegistry, selfUserId, notifier, relieve, monitor, expiry });
  services = { settings, config, engine, state, queues, dataverse, app, clock, logger, telemetry, checkToken: async () => void (await tokens.getToken()), credentialExpiry, tenant, options };
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
