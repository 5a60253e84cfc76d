import { z } from "zod";
import { ErrorCodes } from "../errors.js";
import { LocalRunnerSettings, Settings as Names } from "../names.js";
import { connectionStringSecrets } from "../redact.js";
import { ConfigError } from "./configError.js";
import { credentialFrom, type DynamicsCredential } from "./dynamicsCredential.js";
import {
  checkAppInsights, checkGuid, checkHeader, checkHost, checkPort, checkSecret, checkTenant, checkUrl,
  MIN_SECRET_LENGTH, type Checked, type WebhookHeader,
} from "./settingRules.js";
import { storageFrom, type StorageSettings } from "./storageSettings.js";

export type { DynamicsCredential, CredentialKind } from "./dynamicsCredential.js";
export type { StorageSettings } from "./storageSettings.js";
export type { WebhookHeader } from "./settingRules.js";

export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";
export const DEFAULT_CONFIG_PATH = "sync.config.json";
export const DEFAULT_PORT = 7071;
export const DEFAULT_HOST = "127.0.0.1";

/** Entra authority hosts of the public and sovereign clouds: MSAL's instance discovery knows them. */
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  "login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
  "login.microsoftonline.us", "login.chinacloudapi.cn", "login.partner.microsoftonline.cn", "login.microsoftonline.de",
]);

export interface Settings {
  dynamics: {
    /** Origin of the Dataverse environment, no trailing slash; token scope is `${instanceUrl}/.default`. "" when only F&O jobs are configured. */
    instanceUrl: string;
    tenantId: string;
    clientId: string;
    credential: DynamicsCredential;
    authorityHost: string;
    /** False for sovereign-cloud look-alikes and local emulators: pass `disableInstanceDiscovery: true`. */
    authorityIsMicrosoft: boolean;
  };
  storage: StorageSettings;
  app: { baseUrl: string; apiKey: string };
  webhooks: {
    dataverseKey?: string;
    dataverseHeader?: WebhookHeader;
    dataverseHmacSecret?: string;
    appSecret?: string;
  };
  /** Set wherever the HTTP routes are served (required there, see `SettingsUse`); `npm run sync` runs without it. */
  adminApiKey?: string;
  notifyWebhookUrl?: string;
  appInsightsConnectionString?: string;
  /** Where the credential's expiry is read when it is not a certificate (shared/config/credentialExpiry.ts). */
  credentialExpiry?: { expiresOn?: string; keyVaultSecretUri?: string };
  /** FINOPS_BASE_URL: the Finance & Operations environment the mapping file's `finops` jobs talk to (same Entra credential). */
  finops?: { baseUrl: string };
  configPath: string;
  port: number;
  host: string;
}

const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(/i;

/** Empty and whitespace-only values count as unset: app settings cannot be deleted in every tool. */
function clean(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  return value ? value : undefined;
}

/** One setting: unset -> `fallback` (or a "required" problem), set -> the check's value or problem. */
function setting<T>(check: (raw: string) => Checked<T>, missing: { required: string } | { fallback: T } | "optional") {
  return z.string().optional().transform((raw, ctx): T | undefined => {
    const value = clean(raw);
    if (value === undefined) {
      if (missing === "optional") return undefined;
      if ("fallback" in missing) return missing.fallback;
      ctx.addIssue({ code: "custom", message: `required: ${missing.required}` });
      return undefined;
    }
    if (KEY_VAULT_REFERENCE.test(value)) {
      ctx.addIssue({ code: "custom", message: "is an unresolved Key Vault reference: check the reference and that the app's identity may read the secret" });
      return undefined;
    }
    const checked = check(value);
    if ("problem" in checked) {
      ctx.addIssue({ code: "custom", message: checked.problem });
      return undefined;
    }
    return checked.value;
  });
}

const present = (raw: string): Checked<string> => ({ value: raw });
/** An ISO 8601 date or date-time, kept as ISO UTC. */
const checkInstant = (raw: string): Checked<string> =>
  /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw) && !Number.isNaN(Date.parse(raw))
    ? { value: new Date(Date.parse(raw)).toISOString() }
    : { problem: `must be an ISO 8601 date or date-time such as 2027-03-31 or 2027-03-31T00:00:00Z, got '${raw}'` };
/** A Key Vault secret id: https://<vault>/secrets/<name>[/<version>] (http:// only on loopback, for tests). */
const checkVaultSecretUri = (raw: string): Checked<string> => {
  const url = checkUrl(raw, { allowPath: true, loopbackHttp: true });
  if ("problem" in url) return url;
  return /^\/secrets\/[0-9A-Za-z-]+(\/[0-9A-Za-z]+)?\/?$/.test(new URL(url.value).pathname)
    ? url
    : { problem: `must be a Key Vault secret id such as https://<vault>.vault.azure.net/secrets/<name>, got '${raw}'` };
};
const secret = (raw: string) => checkSecret(raw, MIN_SECRET_LENGTH);

/** Settings that stand alone; the credential and storage settings depend on each other and are read below. */
const SingleSettings = z.object({
  // Required unless FINOPS_BASE_URL is set (only F&O jobs); checked in loadSettings.
  [Names.dynamicsInstanceUrl]: setting((v) => checkUrl(v, { allowPath: false, loopbackHttp: true }), "optional"),
  [Names.finopsBaseUrl]: setting((v) => checkUrl(v, { allowPath: false, loopbackHttp: true }), "optional"),
  [Names.dynamicsTenantId]: setting(checkTenant, { required: "the Entra tenant id (a GUID) or domain" }),
  [Names.dynamicsClientId]: setting((v) => checkGuid(v, "the application (client) id of the Entra app registration or managed identity"),
    { required: "the application (client) id of the Entra app registration or managed identity (a GUID)" }),
  [Names.dynamicsAuthorityHost]: setting((v) => checkUrl(v, { allowPath: true, loopbackHttp: false }), { fallback: DEFAULT_AUTHORITY_HOST }),
  [Names.syncConfigPath]: setting(present, { fallback: DEFAULT_CONFIG_PATH }),
  [Names.appBaseUrl]: setting((v) => checkUrl(v, { allowPath: true, loopbackHttp: true, httpAnyHost: true }),
    { required: "the base URL of the app's Sync API, e.g. https://app.example.com/api" }),
  [Names.appApiKey]: setting(present, { required: "the API key the sync sends to the app as 'Authorization: Bearer <key>'" }),
  [Names.dataverseWebhookKey]: setting(secret, "optional"),
  [Names.dataverseWebhookHeader]: setting(checkHeader, "optional"),
  [Names.dataverseWebhookHmacSecret]: setting(secret, "optional"),
  [Names.appWebhookSecret]: setting(secret, "optional"),
  // Optional here: required only where the HTTP routes are served (`SettingsUse.serveHttp`).
  [Names.adminApiKey]: setting(secret, "optional"),
  [Names.notifyWebhookUrl]: setting((v) => checkUrl(v, { allowPath: true, allowQuery: true, loopbackHttp: true, secret: true }), "optional"),
  [Names.appInsightsConnectionString]: setting(checkAppInsights, "optional"),
  [Names.dynamicsCredentialExpiresOn]: setting(checkInstant, "optional"),
  [Names.dynamicsClientSecretVaultUri]: setting(checkVaultSecretUri, "optional"),
  [LocalRunnerSettings.port]: setting(checkPort, { fallback: DEFAULT_PORT }),
  [LocalRunnerSettings.host]: setting(checkHost, { fallback: DEFAULT_HOST }),
});

/** Settings whose raw value is read by the cross-setting rules; they too must not be unresolved Key Vault references. */
const CROSS_SETTINGS = [Names.dynamicsClientSecret, Names.dynamicsClientCertificatePath, Names.dynamicsCredential, Names.storage];

function isMicrosoftAuthority(authorityHost: string): boolean {
  return MICROSOFT_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
}

/** What the caller will do with the settings: each setting is required only where it is used. */
export interface SettingsUse {
  /**
   * The HTTP routes are served here (the Functions app, `npm start`), so ADMIN_API_KEY, which guards
   * the manual trigger and the admin routes, is required. Default true; `npm run sync` and
   * `npm run validate` serve no routes and pass false.
   */
  serveHttp?: boolean;
}

/** Why ADMIN_API_KEY is required, in the words of a "required" problem. */
export const ADMIN_API_KEY_REQUIRED =
  `required where the HTTP routes are served (npm start, the Functions app): the key for the manual trigger and admin routes (at least ${MIN_SECRET_LENGTH} characters)`;

/**
 * Reads and validates every setting of product.md once. Throws one ConfigError (INVALID_SETTING)
 * listing every problem, each naming its setting; secret values never appear in it.
 */
export function loadSettings(env: Record<string, string | undefined>, use: SettingsUse = {}): Settings {
  const problems: string[] = [];
  const parsed = SingleSettings.safeParse(Object.fromEntries(Object.keys(SingleSettings.shape).map((k) => [k, env[k]])));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${String(issue.path[0] ?? "settings")}: ${issue.message}`);
  }
  if ((use.serveHttp ?? true) && clean(env[Names.adminApiKey]) === undefined) problems.push(`${Names.adminApiKey}: ${ADMIN_API_KEY_REQUIRED}`);
  if (clean(env[Names.dynamicsInstanceUrl]) === undefined && clean(env[Names.finopsBaseUrl]) === undefined) {
    problems.push(`${Names.dynamicsInstanceUrl}: required: the Dataverse environment URL, e.g. https://org.crm4.dynamics.com (optional only when ${Names.finopsBaseUrl} is set and the mapping file has only F&O jobs)`);
  }
  const read = (name: string): string | undefined => {
    const value = clean(env[name]);
    if (value !== undefined && KEY_VAULT_REFERENCE.test(value)) return undefined;
    return value;
  };
  for (const name of CROSS_SETTINGS) {
    if (KEY_VAULT_REFERENCE.test(clean(env[name]) ?? "")) {
      problems.push(`${name}: is an unresolved Key Vault reference: check the reference and that the app's identity may read the secret`);
    }
  }
  const credential = credentialFrom(read, problems);
  const storage = storageFrom(read, problems);
  if (problems.length || !parsed.success || !credential || !storage) {
    throw new ConfigError(ErrorCodes.InvalidSetting, "Invalid settings", problems);
  }
  const s = parsed.data;
  const authorityHost = s[Names.dynamicsAuthorityHost]!;
  return {
    dynamics: {
      // "" when only F&O jobs are configured (FINOPS_BASE_URL set, DYNAMICS_INSTANCE_URL not).
      instanceUrl: s[Names.dynamicsInstanceUrl] ?? "",
      tenantId: s[Names.dynamicsTenantId]!,
      clientId: s[Names.dynamicsClientId]!,
      credential,
      authorityHost,
      authorityIsMicrosoft: isMicrosoftAuthority(authorityHost),
    },
    storage,
    app: { baseUrl: s[Names.appBaseUrl]!, apiKey: s[Names.appApiKey]! },
    webhooks: dropUndefined({
      dataverseKey: s[Names.dataverseWebhookKey],
      dataverseHeader: s[Names.dataverseWebhookHeader],
      dataverseHmacSecret: s[Names.dataverseWebhookHmacSecret],
      appSecret: s[Names.appWebhookSecret],
    }),
    ...dropUndefined({
      adminApiKey: s[Names.adminApiKey],
      notifyWebhookUrl: s[Names.notifyWebhookUrl],
      appInsightsConnectionString: s[Names.appInsightsConnectionString],
    }),
    ...(s[Names.dynamicsCredentialExpiresOn] || s[Names.dynamicsClientSecretVaultUri]
      ? { credentialExpiry: dropUndefined({ expiresOn: s[Names.dynamicsCredentialExpiresOn], keyVaultSecretUri: s[Names.dynamicsClientSecretVaultUri] }) }
      : {}),
    ...(s[Names.finopsBaseUrl] ? { finops: { baseUrl: s[Names.finopsBaseUrl]! } } : {}),
    configPath: s[Names.syncConfigPath]!,
    port: s[LocalRunnerSettings.port]!,
    host: s[LocalRunnerSettings.host]!,
  };
}

function dropUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const SET = "***set***";

/** The settings with every secret replaced by "***set***", safe to print or log. */
export function redactedSettings(settings: Settings): Settings {
  const { credential } = settings.dynamics;
  const { webhooks } = settings;
  return {
    ...settings,
    dynamics: { ...settings.dynamics, credential: { ...credential, ...(credential.secret !== undefined ? { secret: SET } : {}) } },
    storage: settings.storage.kind === "connection-string" ? { kind: "connection-string", connectionString: SET } : { ...settings.storage },
    app: { ...settings.app, apiKey: SET },
    webhooks: dropUndefined({
      dataverseKey: webhooks.dataverseKey && SET,
      dataverseHeader: webhooks.dataverseHeader && { name: webhooks.dataverseHeader.name, value: SET },
      dataverseHmacSecret: webhooks.dataverseHmacSecret && SET,
      appSecret: webhooks.appSecret && SET,
    }),
    ...dropUndefined({
      adminApiKey: settings.adminApiKey && SET,
      notifyWebhookUrl: settings.notifyWebhookUrl && SET,
      appInsightsConnectionString: settings.appInsightsConnectionString && SET,
    }),
  };
}

/**
 * Every secret value in the settings, for the logger and telemetry to mask: the keys and secrets,
 * the notification webhook URL (whole: its path is the token), and the connection strings with
 * their account key or SAS.
 */
export function secretValues(settings: Settings): string[] {
  const { webhooks } = settings;
  const values = [
    settings.dynamics.credential.secret, settings.app.apiKey, settings.adminApiKey, webhooks.dataverseKey,
    webhooks.dataverseHmacSecret, webhooks.appSecret, webhooks.dataverseHeader?.value, settings.notifyWebhookUrl,
    settings.appInsightsConnectionString,
    ...(settings.storage.kind === "connection-string" ? connectionStringSecrets(settings.storage.connectionString) : []),
  ];
  return values.filter((v): v is string => !!v);
}
