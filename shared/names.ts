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
} as const;
