/**
 * Names shared by code, host.json, Bicep (infra/) and local.settings.sample.json. The infra
 * consistency test reads this file: a queue or table added here must be provisioned in Bicep.
 */
export const Queues = {
  /** One message per mapping run: plan the run and enqueue writes. */
  runs: "sync-runs",
  /** Chunks of writes bound for Dataverse. */
  dataverseWrites: "dataverse-writes",
  /** Chunks of writes bound for the app. */
  appWrites: "app-writes",
  /** Single-record change notices from webhooks (Dataverse and app); the worker re-reads fresh. */
  recordEvents: "record-events",
} as const;

export const poisonQueue = (name: string): string => `${name}-poison`;

export const Tables = {
  cursors: "SyncCursors",
  links: "SyncLinks",
  runs: "SyncRuns",
  health: "SyncHealth",
  deadLetters: "SyncDeadLetters",
  conflicts: "SyncConflicts",
  throttle: "SyncThrottle",
  /** Write ops of a record too large for a queue message, until their message is done. */
  payloads: "SyncPayloads",
  /** Expiry rules' index: records by the date their field expires (shared/state/tableExpiryIndex.ts). */
  expiry: "SyncExpiry",
  /** F&O jobs' message ledger, intents and job locks (shared/finops/finopsLedger.ts). */
  finopsMessages: "SyncFinopsMessages",
} as const;

/** App settings (environment variables). The contract is product.md; validated in shared/config/settings.ts. */
export const Settings = {
  dynamicsInstanceUrl: "DYNAMICS_INSTANCE_URL",
  dynamicsTenantId: "DYNAMICS_TENANT_ID",
  dynamicsClientId: "DYNAMICS_CLIENT_ID",
  dynamicsClientSecret: "DYNAMICS_CLIENT_SECRET",
  dynamicsClientCertificatePath: "DYNAMICS_CLIENT_CERTIFICATE_PATH",
  dynamicsCredential: "DYNAMICS_CREDENTIAL",
  dynamicsAuthorityHost: "DYNAMICS_AUTHORITY_HOST",
  storage: "AzureWebJobsStorage",
  syncConfigPath: "SYNC_CONFIG_PATH",
  appBaseUrl: "APP_BASE_URL",
  appApiKey: "APP_API_KEY",
  dataverseWebhookKey: "DATAVERSE_WEBHOOK_KEY",
  dataverseWebhookHeader: "DATAVERSE_WEBHOOK_HEADER",
  dataverseWebhookHmacSecret: "DATAVERSE_WEBHOOK_HMAC_SECRET",
  appWebhookSecret: "APP_WEBHOOK_SECRET",
  adminApiKey: "ADMIN_API_KEY",
  notifyWebhookUrl: "NOTIFY_WEBHOOK_URL",
  appInsightsConnectionString: "APPLICATIONINSIGHTS_CONNECTION_STRING",
  /** When the Dataverse credential expires (ISO 8601), where neither a certificate nor Key Vault tells. */
  dynamicsCredentialExpiresOn: "DYNAMICS_CREDENTIAL_EXPIRES_ON",
  /** The Key Vault secret the client secret comes from (https://<vault>.vault.azure.net/secrets/<name>): its `expires` is read. */
  dynamicsClientSecretVaultUri: "DYNAMICS_CLIENT_SECRET_VAULT_URI",
  /** The Finance & Operations environment (https://<env>.operations.dynamics.com): the `finops` jobs' target; token scope `<url>/.default`. */
  finopsBaseUrl: "FINOPS_BASE_URL",
} as const;

/** Settings of the local runner only (`npm start`); never set in Azure, so kept apart from `Settings`. */
export const LocalRunnerSettings = {
  port: "PORT",
  host: "HOST",
} as const;

/**
 * Telemetry the app emits (Application Insights customEvents / customMetrics). The Bicep alert
 * rules query these names; change them together.
 */
export const TelemetryEvents = {
  /** One per finished run: mapping, runId, status, written, skipped, conflicts, failed. */
  runCompleted: "SyncRunCompleted",
  /** A record moved to the dead letters: mapping, direction, code. */
  recordDeadLettered: "SyncRecordDeadLettered",
  /** A token could not be obtained or Dataverse/the app refused our credentials. */
  authFailed: "SyncAuthFailed",
  /** The mass-delete breaker stopped deletes in a run. */
  massDeleteBlocked: "SyncMassDeleteBlocked",
  /** A Dataverse 429 was received: mapping, retryAfterMs. */
  throttled: "SyncThrottled",
  /** A reconcile run finished: mapping, runId, records (that diverged), fields (JSON: app field -> records). */
  divergence: "SyncDivergence",
  /** An operator discarded a pending record (the audit trail): mapping, direction, recordId, code, attempts, times. */
  pendingDiscarded: "SyncPendingDiscarded",
} as const;

export const TelemetryMetrics = {
  recordsWritten: "sync_records_written",
  recordsFailed: "sync_records_failed",
  runDurationMs: "sync_run_duration_ms",
} as const;

/** Function names as registered with the Functions host (the Bicep alert rules refer to them). */
export const FunctionNames = {
  timer: "scheduledSync",
  reconcileTimer: "scheduledReconcile",
  runWorker: "runWorker",
  dataverseWriter: "dataverseWriter",
  appWriter: "appWriter",
  recordEventWorker: "recordEventWorker",
  poisonWatcher: "poisonWatcher",
  manualSync: "manualSync",
  runStatus: "runStatus",
  listRuns: "listRuns",
  health: "health",
  dataverseWebhook: "dataverseWebhook",
  appWebhook: "appWebhook",
  powerAutomateInbound: "powerAutomateInbound",
} as const;
